// Stub of tflite-micro tensorflow/lite/micro/system_setup.h.
#pragma once
namespace tflite {
void InitializeTarget();
}  // namespace tflite
