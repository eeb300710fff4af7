// Everything the board and the model must agree on, written by vww_kit.export for the AI-Thinker ESP32-CAM.
// Read from vww-rgb96_int8.tflite and the recipe; change the model or the recipe and export again, never edit by hand.
#ifndef MODEL_SETTINGS_H_
#define MODEL_SETTINGS_H_

#include <stdint.h>

#include "preprocess.h"

// Model input (from the model file)
constexpr int kNumRows = 96;
constexpr int kNumCols = 96;
constexpr int kNumChannels = 3;  // rgb
constexpr float kInputScale = 0.00392156886f;  // real value = scale * (q - zero point)
constexpr int kInputZeroPoint = -128;

// Camera: capture, then the part the model sees (recipe crop = center), then a box-filter shrink
constexpr int kCaptureWidth = 96;
constexpr int kCaptureHeight = 96;
constexpr int kCaptureFormat = VWW_FRAME_RGB565;
constexpr int kCaptureBytesPerPixel = 2;
constexpr int kCropX = 0;
constexpr int kCropY = 0;
constexpr int kCropWidth = 96;
constexpr int kCropHeight = 96;

// 8-bit pixel p -> int8 model input: round(p * kPixelScale / kInputScale) + kInputZeroPoint, clamped (vww_kit.camera.input_lut)
constexpr float kPixelScale = 0.00392156886f;  // the float model's input = pixel * kPixelScale (the model's contract)
constexpr int8_t kInputLut[256] = {
    -128, -127, -126, -125, -124, -123, -122, -121, -120, -119, -118, -117, -116, -115, -114, -113,
    -112, -111, -110, -109, -108, -107, -106, -105, -104, -103, -102, -101, -100,  -99,  -98,  -97,
     -96,  -95,  -94,  -93,  -92,  -91,  -90,  -89,  -88,  -87,  -86,  -85,  -84,  -83,  -82,  -81,
     -80,  -79,  -78,  -77,  -76,  -75,  -74,  -73,  -72,  -71,  -70,  -69,  -68,  -67,  -66,  -65,
     -64,  -63,  -62,  -61,  -60,  -59,  -58,  -57,  -56,  -55,  -54,  -53,  -52,  -51,  -50,  -49,
     -48,  -47,  -46,  -45,  -44,  -43,  -42,  -41,  -40,  -39,  -38,  -37,  -36,  -35,  -34,  -33,
     -32,  -31,  -30,  -29,  -28,  -27,  -26,  -25,  -24,  -23,  -22,  -21,  -20,  -19,  -18,  -17,
     -16,  -15,  -14,  -13,  -12,  -11,  -10,   -9,   -8,   -7,   -6,   -5,   -4,   -3,   -2,   -1,
       0,    1,    2,    3,    4,    5,    6,    7,    8,    9,   10,   11,   12,   13,   14,   15,
      16,   17,   18,   19,   20,   21,   22,   23,   24,   25,   26,   27,   28,   29,   30,   31,
      32,   33,   34,   35,   36,   37,   38,   39,   40,   41,   42,   43,   44,   45,   46,   47,
      48,   49,   50,   51,   52,   53,   54,   55,   56,   57,   58,   59,   60,   61,   62,   63,
      64,   65,   66,   67,   68,   69,   70,   71,   72,   73,   74,   75,   76,   77,   78,   79,
      80,   81,   82,   83,   84,   85,   86,   87,   88,   89,   90,   91,   92,   93,   94,   95,
      96,   97,   98,   99,  100,  101,  102,  103,  104,  105,  106,  107,  108,  109,  110,  111,
     112,  113,  114,  115,  116,  117,  118,  119,  120,  121,  122,  123,  124,  125,  126,  127};

// Model output (from the model file) and labels (training order)
constexpr int kNumClasses = 2;
constexpr int kPersonIndex = 1;
constexpr int kNotAPersonIndex = 0;
constexpr const char* kCategoryLabels[] = {"no_person", "person"};
constexpr float kOutputScale = 0.00390625f;
constexpr int kOutputZeroPoint = -128;
constexpr float kDetectionThreshold = 0.738300025f;  // recipe [export] threshold, or the model's calibrated one

// Runtime
constexpr int kNumOps = 5;  // AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, SOFTMAX
constexpr int kMeasuredArenaBytes = 55664;
// measured 55,664 B (tflite-micro, 64-bit host, reference kernels) + 25% + 16 KiB, rounded up to 1 KiB
constexpr int kTensorArenaSize = 86016;

#endif  // MODEL_SETTINGS_H_
