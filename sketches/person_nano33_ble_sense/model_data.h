// The model the sketch runs, written by vww_kit.export: see model_data.cpp.
#ifndef MODEL_DATA_H_
#define MODEL_DATA_H_

extern const unsigned char g_model_data[];
extern const unsigned int g_model_data_len;

#endif  // MODEL_DATA_H_
