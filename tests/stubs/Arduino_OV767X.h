// Stub of arduino-libraries/Arduino_OV767X 0.0.2 src/OV767X.h (the subset vww_kit sketches use).
#pragma once
#include <Arduino.h>

enum { YUV422 = 0, RGB444 = 1, RGB565 = 2, GRAYSCALE = 4 };
enum { VGA = 0, CIF = 1, QVGA = 2, QCIF = 3, QQVGA = 4 };

class OV767X {
 public:
  int begin(int resolution, int format, int fps);  // Supported FPS on the Nano 33 BLE: 1, 5
  void end();
  int width() const;
  int height() const;
  int bitsPerPixel() const;
  int bytesPerPixel() const;
  void readFrame(void* buffer);
};

extern OV767X Camera;
