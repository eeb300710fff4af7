// Host driver for preprocess.c (vww_kit.export.host_preprocess): frames.bin in, model inputs out.
#include <cstdio>
#include <vector>

#include "model_settings.h"
#include "preprocess.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FRAMES_IN INPUTS_OUT\n", argv[0]);
    return 1;
  }
  const vww_preprocess_config c = {kCaptureWidth, kCaptureHeight, kCaptureFormat, kCropX, kCropY, kCropWidth,
                                   kCropHeight,   kNumCols,       kNumRows,       kNumChannels,   kInputLut};
  const size_t in_n = (size_t)kCaptureWidth * kCaptureHeight * kCaptureBytesPerPixel;
  const size_t out_n = (size_t)kNumRows * kNumCols * kNumChannels;
  std::FILE* fi = std::fopen(argv[1], "rb");
  std::FILE* fo = std::fopen(argv[2], "wb");
  if (fi == nullptr || fo == nullptr) return 1;
  std::vector<uint8_t> frame(in_n);
  std::vector<int8_t> input(out_n);
  while (std::fread(frame.data(), 1, in_n, fi) == in_n) {
    if (vww_preprocess(frame.data(), &c, input.data()) != 0) {
      std::fprintf(stderr, "vww_preprocess rejected the configuration in model_settings.h\n");
      return 2;
    }
    std::fwrite(input.data(), 1, out_n, fo);
  }
  std::fclose(fi);
  return std::fclose(fo) == 0 ? 0 : 1;
}
