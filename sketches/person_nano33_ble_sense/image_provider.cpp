// Camera of the Arduino Nano 33 BLE Sense + OV7675 (Tiny Machine Learning Kit) (OV7675) through the Arduino_OV767X library.
#include <Arduino.h>
#include <Arduino_OV767X.h>

#include "image_provider.h"
#include "model_settings.h"
#include "preprocess.h"

namespace {
const vww_preprocess_config kPreprocess = {kCaptureWidth, kCaptureHeight, kCaptureFormat, kCropX, kCropY,
                                           kCropWidth,    kCropHeight,    kNumCols,       kNumRows, kNumChannels,
                                           kInputLut};
// One frame buffer in internal RAM (the board has no PSRAM): 19,200 bytes.
uint8_t frame[kCaptureWidth * kCaptureHeight * kCaptureBytesPerPixel];
}  // namespace

TfLiteStatus InitCamera() {
  // 1 and 5 fps are the rates the library supports on the Nano 33 BLE. Arduino_OV767X 0.0.2 (Library Manager)
  // takes three arguments; its GitHub version also takes the sensor (default OV7670): add OV7675 as a fourth
  // argument there if the picture looks wrong.
  if (!Camera.begin(QQVGA, GRAYSCALE, 5)) {
    Serial.println("ERROR: Camera.begin failed. Check that the OV7675 sits in the Tiny Machine Learning Shield.");
    return kTfLiteError;
  }
  if (Camera.width() != kCaptureWidth || Camera.height() != kCaptureHeight) {
    Serial.println("ERROR: the camera frame size differs from model_settings.h.");
    return kTfLiteError;
  }
  return kTfLiteOk;
}

TfLiteStatus GetImage(int image_width, int image_height, int channels, int8_t* image_data) {
  Camera.readFrame(frame);  // GRAYSCALE keeps 1 byte a pixel (the Y of YUV422); RGB565 keeps 2, high byte first
  if (image_width != kNumCols || image_height != kNumRows || channels != kNumChannels ||
      vww_preprocess(frame, &kPreprocess, image_data) != 0) {
    Serial.println("ERROR: preprocessing failed: the model input differs from model_settings.h.");
    return kTfLiteError;
  }
  return kTfLiteOk;
}
