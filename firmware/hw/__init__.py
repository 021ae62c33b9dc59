"""The emulated NPU hardware: register map (npu.rdl → regmap.json), register file, memory, units."""
