// The TensorFlow.js namespace as one type, for code that is handed the library (the trainer picks its backend at run
// time and passes `tf` down) instead of importing it.

export type Tf = typeof import('@tensorflow/tfjs');
