// Placeholder until the layer has sources; removed when it does.
