/* See preprocess.h. Each step mirrors a function of vww_kit.camera; the comments name them. */
#include "preprocess.h"

/* rgb565_to_rgb: 5/6-bit fields widened by bit replication */
static void rgb565_pixel(const uint8_t *p, uint32_t rgb[3]) {
  uint32_t v = ((uint32_t)p[0] << 8) | p[1];
  uint32_t r = (v >> 11) & 31u, g = (v >> 5) & 63u, b = v & 31u;
  rgb[0] = (r << 3) | (r >> 2);
  rgb[1] = (g << 2) | (g >> 4);
  rgb[2] = (b << 3) | (b >> 2);
}

/* rgb_to_luma: integer BT.601 weights */
static uint32_t luma(uint32_t r, uint32_t g, uint32_t b) { return (77u * r + 150u * g + 29u * b + 128u) >> 8; }

int vww_preprocess(const uint8_t *frame, const vww_preprocess_config *c, int8_t *out) {
  const int rgb565 = c->frame_format == VWW_FRAME_RGB565;
  if (!rgb565 && c->frame_format != VWW_FRAME_GRAY8) return -1;
  if (c->out_channels != 1 && !(c->out_channels == 3 && rgb565)) return -1;
  if (c->crop_x < 0 || c->crop_y < 0 || c->crop_x + c->crop_width > c->frame_width ||
      c->crop_y + c->crop_height > c->frame_height) return -1;
  /* box_resize never upscales */
  if (c->out_width < 1 || c->out_height < 1 || c->out_width > c->crop_width || c->out_height > c->crop_height) return -1;
  const int bpp = rgb565 ? 2 : 1;
  for (int oy = 0; oy < c->out_height; oy++) {
    /* box_resize: bin i covers source rows [i*src/dst, (i+1)*src/dst) */
    const int y0 = c->crop_y + oy * c->crop_height / c->out_height;
    const int y1 = c->crop_y + (oy + 1) * c->crop_height / c->out_height;
    for (int ox = 0; ox < c->out_width; ox++) {
      const int x0 = c->crop_x + ox * c->crop_width / c->out_width;
      const int x1 = c->crop_x + (ox + 1) * c->crop_width / c->out_width;
      const uint32_t n = (uint32_t)(y1 - y0) * (uint32_t)(x1 - x0);
      uint32_t sum[3] = {0, 0, 0};
      for (int y = y0; y < y1; y++) {
        const uint8_t *p = frame + ((long)y * c->frame_width + x0) * bpp;
        for (int x = x0; x < x1; x++, p += bpp) {
          if (rgb565) {
            uint32_t rgb[3];
            rgb565_pixel(p, rgb);
            sum[0] += rgb[0]; sum[1] += rgb[1]; sum[2] += rgb[2];
          } else sum[0] += p[0];
        }
      }
      /* box mean, rounded half up: (sum + n/2) / n */
      int8_t *o = out + ((long)oy * c->out_width + ox) * c->out_channels;
      if (!rgb565) o[0] = c->lut[(sum[0] + n / 2) / n];
      else {
        const uint32_t r = (sum[0] + n / 2) / n, g = (sum[1] + n / 2) / n, b = (sum[2] + n / 2) / n;
        if (c->out_channels == 3) { o[0] = c->lut[r]; o[1] = c->lut[g]; o[2] = c->lut[b]; }
        else o[0] = c->lut[luma(r, g, b)]; /* sketch_preprocess: luma after the shrink */
      }
    }
  }
  return 0;
}
