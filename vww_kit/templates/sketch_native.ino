// @NAME@: person detector for the @BOARD_NAME@, written by vww_kit.export (native backend).
// Model: @MODEL_SOURCE@ (@MODEL_BYTES@ bytes), compiled to plain C99 in model.c: no ML library. Board settings and
// expected output: README.md.
#include <Arduino.h>

#include "detection_responder.h"
#include "image_provider.h"
#include "model.h"
#include "model_settings.h"

// model.h (the compiled model) and model_settings.h (camera and labels) are written together from one model file.
static_assert(VWW_INPUT_HEIGHT == kNumRows && VWW_INPUT_WIDTH == kNumCols && VWW_INPUT_CHANNELS == kNumChannels &&
                  VWW_INPUT_ZERO_POINT == kInputZeroPoint,
              "model.h and model_settings.h describe different inputs: export the sketch again from one model");
static_assert(VWW_OUTPUT_SIZE == kNumClasses && VWW_OUTPUT_ZERO_POINT == kOutputZeroPoint &&
                  VWW_ARENA_BYTES == kTensorArenaSize,
              "model.h and model_settings.h describe different models: export the sketch again from one model");

namespace {
int8_t* input = nullptr;            // the model input inside model.c's arena: the camera writes it in place
const char* setup_error = nullptr;  // why setup() stopped; loop() repeats it for a monitor opened late
}  // namespace

void setup() {
  Serial.begin(115200);
  for (unsigned long t = millis(); !Serial && millis() - t < 3000;) {
  }  // native USB serial: give the monitor up to 3 s to connect
  Serial.println("@NAME@: vww_kit person detector for the @BOARD_NAME@");
  input = vww_input();
  if (InitCamera() != kTfLiteOk) {
    Fail("ERROR: camera initialisation failed (see the line above).");
    return;
  }
  Serial.print("Ready. Model arena: ");
  Serial.print((unsigned long)kTensorArenaSize);
  Serial.println(" bytes, a static array in internal RAM (native C, no ML library).");
}

void loop() {
  if (setup_error != nullptr) {
    Serial.println(setup_error);
    delay(5000);
    return;
  }
  const unsigned long t0 = millis();
  if (GetImage(kNumCols, kNumRows, kNumChannels, input) != kTfLiteOk) {
    Serial.println("Image capture failed.");
    delay(1000);
    return;
  }
  const unsigned long t1 = millis();
  // The input is already in the arena (vww_input) and the output stays there (vww_output): no copies.
  if (vww_invoke(nullptr, nullptr) != 0) {
    Serial.println("Invoke failed.");
    delay(1000);
    return;
  }
  const unsigned long t2 = millis();

  const int8_t* output = vww_output();
  const float person_score = (output[kPersonIndex] - kOutputZeroPoint) * kOutputScale;
  const float no_person_score =
      kNumClasses == 1 ? 1.0f - person_score : (output[kNotAPersonIndex] - kOutputZeroPoint) * kOutputScale;
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
