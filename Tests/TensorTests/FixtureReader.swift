// The fixtures are safetensors files, read with NN's reader (the checkpoint formats live in NN/Checkpoints).
@_exported import NN
