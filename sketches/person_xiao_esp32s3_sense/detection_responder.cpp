// Serial output and the orange user LED on GPIO 21 of the Seeed Studio XIAO ESP32S3 Sense.
#include <Arduino.h>

#include "detection_responder.h"
#include "model_settings.h"

namespace {
const int kLedPin = 21;
const bool kLedActiveLow = true;  // the pin sinks the LED current: LOW lights it
bool led_ready = false;
}  // namespace

void RespondToDetection(float person_score, float no_person_score) {
  if (!led_ready) {
    pinMode(kLedPin, OUTPUT);
    led_ready = true;
  }
  const bool person = person_score >= kDetectionThreshold;
  digitalWrite(kLedPin, (person != kLedActiveLow) ? HIGH : LOW);  // lit while a person is seen
  Serial.print(person ? "PERSON     " : "no person  ");
  Serial.print(kCategoryLabels[kPersonIndex]);
  Serial.print(" ");
  Serial.print(person_score, 2);
  Serial.print("  ");
  Serial.print(kNumClasses == 1 ? "not_person" : kCategoryLabels[kNotAPersonIndex]);
  Serial.print(" ");
  Serial.println(no_person_score, 2);
}
