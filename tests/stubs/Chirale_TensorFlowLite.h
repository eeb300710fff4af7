// Stub of spaziochirale/Chirale_TensorFlowLite src/Chirale_TensorFlowLite.h: the library's include marker; the
// TFLM headers it provides are stubbed under tensorflow/.
#pragma once
