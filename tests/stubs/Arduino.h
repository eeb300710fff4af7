// Stub of the Arduino core API used by vww_kit sketches (ArduinoCore-API Common.h/Print.h; arduino-esp32
// esp32-hal-psram.h for psramFound; Nano 33 BLE pins_arduino.h for LEDR/LEDG/LEDB). Declarations only.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define HIGH 0x1
#define LOW 0x0
#define INPUT 0x0
#define OUTPUT 0x1
#define LED_BUILTIN 13
#define LEDR 22
#define LEDG 23
#define LEDB 24

typedef uint8_t byte;

void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
void delay(unsigned long ms);
unsigned long millis(void);
bool psramFound();  // arduino-esp32 only

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  explicit operator bool() const;
  size_t print(const char* s);
  size_t print(char c);
  size_t print(int n, int base = 10);
  size_t print(unsigned int n, int base = 10);
  size_t print(long n, int base = 10);
  size_t print(unsigned long n, int base = 10);
  size_t print(double n, int digits = 2);
  size_t println(const char* s);
  size_t println(int n, int base = 10);
  size_t println(unsigned int n, int base = 10);
  size_t println(long n, int base = 10);
  size_t println(unsigned long n, int base = 10);
  size_t println(double n, int digits = 2);
  size_t println(void);
  size_t printf(const char* format, ...) __attribute__((format(printf, 2, 3)));  // arduino-esp32 Print::printf
};
extern HardwareSerial Serial;
