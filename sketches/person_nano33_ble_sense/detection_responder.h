// RespondToDetection: the output seam (as in tflite-micro examples/person_detection): serial line and LED.
#ifndef DETECTION_RESPONDER_H_
#define DETECTION_RESPONDER_H_

// Scores are probabilities in [0, 1]; a person counts when person_score >= kDetectionThreshold.
void RespondToDetection(float person_score, float no_person_score);

#endif  // DETECTION_RESPONDER_H_
