// GetImage: the camera seam (as in tflite-micro examples/person_detection). image_provider.cpp holds the
// hardware; the pure conversion lives in preprocess.c, which the host tests against vww_kit's emulation.
#ifndef IMAGE_PROVIDER_H_
#define IMAGE_PROVIDER_H_

#include <stdint.h>

#include "tensorflow/lite/c/common.h"

// Start the camera with the capture size and pixel format of model_settings.h.
TfLiteStatus InitCamera();

// Capture a frame and write the model input (image_height x image_width x channels int8 values, HWC).
TfLiteStatus GetImage(int image_width, int image_height, int channels, int8_t* image_data);

#endif  // IMAGE_PROVIDER_H_
