// Camera of the @BOARD_NAME@ (@CAMERA@) through esp32-camera, which the esp32 Arduino core 3.x bundles.
#include <Arduino.h>

#include "esp_camera.h"
#include "image_provider.h"
#include "model_settings.h"
#include "preprocess.h"

// Camera pins: @PIN_SOURCE@
@PIN_DEFINES@

namespace {
const vww_preprocess_config kPreprocess = {kCaptureWidth, kCaptureHeight, kCaptureFormat, kCropX, kCropY,
                                           kCropWidth,    kCropHeight,    kNumCols,       kNumRows, kNumChannels,
                                           kInputLut};
}  // namespace

TfLiteStatus InitCamera() {
  if (!psramFound()) {
    Serial.println("ERROR: no PSRAM found; the camera frame buffers and the tensor arena live there. @PSRAM_HINT@");
    return kTfLiteError;
  }
  camera_config_t config = {};
  config.ledc_channel = LEDC_CHANNEL_0;
  config.ledc_timer = LEDC_TIMER_0;
  config.pin_d0 = Y2_GPIO_NUM;
  config.pin_d1 = Y3_GPIO_NUM;
  config.pin_d2 = Y4_GPIO_NUM;
  config.pin_d3 = Y5_GPIO_NUM;
  config.pin_d4 = Y6_GPIO_NUM;
  config.pin_d5 = Y7_GPIO_NUM;
  config.pin_d6 = Y8_GPIO_NUM;
  config.pin_d7 = Y9_GPIO_NUM;
  config.pin_xclk = XCLK_GPIO_NUM;
  config.pin_pclk = PCLK_GPIO_NUM;
  config.pin_vsync = VSYNC_GPIO_NUM;
  config.pin_href = HREF_GPIO_NUM;
  config.pin_sccb_sda = SIOD_GPIO_NUM;
  config.pin_sccb_scl = SIOC_GPIO_NUM;
  config.pin_pwdn = PWDN_GPIO_NUM;
  config.pin_reset = RESET_GPIO_NUM;
  config.xclk_freq_hz = @XCLK_HZ@;
  config.pixel_format = @PIXFORMAT@;  // kCaptureFormat
  config.frame_size = @FRAMESIZE@;  // kCaptureWidth x kCaptureHeight
  config.jpeg_quality = 12;
  config.fb_count = @FB_COUNT@;
  config.fb_location = CAMERA_FB_IN_PSRAM;
  config.grab_mode = CAMERA_GRAB_LATEST;  // the newest frame, not one queued while the model ran
  const esp_err_t err = esp_camera_init(&config);
  if (err != ESP_OK) {
    Serial.printf("ERROR: esp_camera_init failed with 0x%x. Check the board selection and the camera ribbon; "
                  "a weak USB supply (brownout) causes this too.\n", (unsigned)err);
    return kTfLiteError;
  }
  sensor_t* s = esp_camera_sensor_get();
  @VFLIP_LINE@
  return kTfLiteOk;
}

TfLiteStatus GetImage(int image_width, int image_height, int channels, int8_t* image_data) {
  camera_fb_t* fb = esp_camera_fb_get();
  if (fb == nullptr) {
    Serial.println("ERROR: the camera returned no frame.");
    return kTfLiteError;
  }
  TfLiteStatus status = kTfLiteOk;
  if ((int)fb->width != kCaptureWidth || (int)fb->height != kCaptureHeight ||
      fb->len != (size_t)kCaptureWidth * kCaptureHeight * kCaptureBytesPerPixel) {
    Serial.println("ERROR: the camera frame differs in size or format from model_settings.h.");
    status = kTfLiteError;
  } else if (image_width != kNumCols || image_height != kNumRows || channels != kNumChannels ||
             vww_preprocess(fb->buf, &kPreprocess, image_data) != 0) {
    Serial.println("ERROR: preprocessing failed: the model input differs from model_settings.h.");
    status = kTfLiteError;
  }
  esp_camera_fb_return(fb);
  return status;
}
