/* Camera frame -> model input, exactly as vww_kit.camera emulates the board (sketch_preprocess, then input_lut).
 * Plain C99 with no hardware dependency: the host compiles and tests this very file against the Python reference. */
#ifndef VWW_PREPROCESS_H_
#define VWW_PREPROCESS_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VWW_FRAME_RGB565 1 /* 2 bytes a pixel, high byte first, as esp32-camera and OV767X deliver them */
#define VWW_FRAME_GRAY8 2  /* 1 byte a pixel: the sensor's luma */

typedef struct {
  int frame_width, frame_height; /* the capture */
  int frame_format;              /* VWW_FRAME_RGB565 or VWW_FRAME_GRAY8 */
  int crop_x, crop_y, crop_width, crop_height; /* the part of the capture the model sees */
  int out_width, out_height, out_channels;     /* the model input; 1 channel: luma, 3: RGB */
  const int8_t *lut;             /* 256 entries: 8-bit pixel value -> int8 model input */
} vww_preprocess_config;

/* Crop, box-filter shrink, color conversion and int8 table: writes out_height * out_width * out_channels
 * values (HWC) into `out`. Returns 0, or -1 when the configuration is impossible (crop outside the frame,
 * an upscale, or a grayscale frame for an RGB model). */
int vww_preprocess(const uint8_t *frame, const vww_preprocess_config *cfg, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* VWW_PREPROCESS_H_ */
