// person_nano33_ble_sense: person detector for the Arduino Nano 33 BLE Sense + OV7675 (Tiny Machine Learning Kit), written by vww_kit.export.
// Model: vww-gray64_int8.tflite (111,783 bytes). Board settings, libraries and expected output: README.md.
#include <Arduino.h>
#include <Chirale_TensorFlowLite.h>
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/system_setup.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "detection_responder.h"
#include "image_provider.h"
#include "model_data.h"
#include "model_settings.h"

namespace {
const tflite::Model* model = nullptr;
tflite::MicroInterpreter* interpreter = nullptr;
TfLiteTensor* input = nullptr;
alignas(16) uint8_t tensor_arena[kTensorArenaSize];  // internal RAM: the board has no PSRAM
const char* setup_error = nullptr;  // why setup() stopped; loop() repeats it for a monitor opened late
}  // namespace

void setup() {
  Serial.begin(115200);
  for (unsigned long t = millis(); !Serial && millis() - t < 3000;) {
  }  // native USB serial: give the monitor up to 3 s to connect
  Serial.println("person_nano33_ble_sense: vww_kit person detector for the Arduino Nano 33 BLE Sense + OV7675 (Tiny Machine Learning Kit)");
  tflite::InitializeTarget();

  model = tflite::GetModel(g_model_data);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    Fail("ERROR: the model's TFLite schema version differs from the TFLite Micro library's. Update the library.");
    return;
  }

  // Exactly the ops this model uses, read from the model file by vww_kit (a missing one is the
  // "Didn't find op for builtin opcode" error; a surplus one costs flash).
  static tflite::MicroMutableOpResolver<kNumOps> resolver;
  if (resolver.AddAveragePool2D() != kTfLiteOk ||
      resolver.AddConv2D() != kTfLiteOk ||
      resolver.AddDepthwiseConv2D() != kTfLiteOk ||
      resolver.AddFullyConnected() != kTfLiteOk ||
      resolver.AddSoftmax() != kTfLiteOk) {
    Fail("ERROR: registering the model's ops failed. Use the TFLite Micro library named in README.md.");
    return;
  }

  static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena, kTensorArenaSize);
  interpreter = &static_interpreter;
  if (interpreter->AllocateTensors() != kTfLiteOk) {
    Fail("ERROR: AllocateTensors() failed: the tensor arena is too small for this library's kernels. Raise "
         "kTensorArenaSize in model_settings.h (see the comment there).");
    return;
  }
  input = interpreter->input(0);
  if (input->type != kTfLiteInt8 || input->dims->size != 4 || input->dims->data[1] != kNumRows ||
      input->dims->data[2] != kNumCols || input->dims->data[3] != kNumChannels) {
    Fail("ERROR: the model's input differs from model_settings.h. Export the sketch again from this model.");
    return;
  }
  if (InitCamera() != kTfLiteOk) {
    Fail("ERROR: camera initialisation failed (see the line above).");
    return;
  }
  Serial.print("Ready. Tensor arena: ");
  Serial.print((unsigned long)interpreter->arena_used_bytes());
  Serial.print(" of ");
  Serial.print((unsigned long)kTensorArenaSize);
  Serial.println(" bytes used.");
}

void loop() {
  if (setup_error != nullptr) {
    Serial.println(setup_error);
    delay(5000);
    return;
  }
  const unsigned long t0 = millis();
  if (GetImage(kNumCols, kNumRows, kNumChannels, input->data.int8) != kTfLiteOk) {
    Serial.println("Image capture failed.");
    delay(1000);
    return;
  }
  const unsigned long t1 = millis();
  if (interpreter->Invoke() != kTfLiteOk) {
    Serial.println("Invoke failed.");
    delay(1000);
    return;
  }
  const unsigned long t2 = millis();

  const TfLiteTensor* output = interpreter->output(0);
  const float scale = output->params.scale;
  const int zero_point = output->params.zero_point;
  const float person_score = (output->data.int8[kPersonIndex] - zero_point) * scale;
  const float no_person_score =
      kNumClasses == 1 ? 1.0f - person_score : (output->data.int8[kNotAPersonIndex] - zero_point) * scale;
  RespondToDetection(person_score, no_person_score);
  Serial.print("  capture and preprocessing ");
  Serial.print(t1 - t0);
  Serial.print(" ms, inference ");
  Serial.print(t2 - t1);
  Serial.println(" ms");
}

static void Fail(const char* why) {
  setup_error = why;
  Serial.println(why);
}
