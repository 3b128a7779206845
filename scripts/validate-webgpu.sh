#!/usr/bin/env bash
# The compiled step's kernel and whole-step tests (test/webgpu/compiled*.test.ts) under the Khronos Vulkan
# validation layer (Debian: apt-get install vulkan-validationlayers), forced through the Vulkan loader: this
# dawn.node is built without Dawn's own switch for it. Fails on a failing test or on any validation message other
# than the four kinds that come from the layer being older than Dawn (bookworm's 1.3.239): it does not know
# VK_KHR_maximal_reconvergence (the SPIR-V extension and its execution mode 6023), nor the structures of that
# extension (1000434000) and of VK_KHR_maintenance5 (1000470001) in the device's feature and property chains.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json ]; then
  echo "validation: no VK_LAYER_KHRONOS_validation (apt-get install vulkan-validationlayers)" >&2
  exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation node --import tsx --test --test-reporter=spec \
  test/webgpu/compiled.test.ts test/webgpu/compiledStep.test.ts >"$log" 2>&1 || {
  grep -E "✖|Error" "$log" | grep -v "Validation Error" | head -20
  echo "validation: the tests failed under the layer" >&2
  exit 1
}
grep -E "^ℹ (pass|fail)" "$log"
known='SPV_KHR_maximal_reconvergence|Invalid execution mode operand: 6023|unknown VkStructureType \((1000434000|1000470001)\)'
if grep "Validation Error" "$log" | grep -vE "$known"; then
  echo "validation: the messages above are not the layer's age" >&2
  exit 1
fi
echo "validation: $(grep -c 'Validation Error' "$log" || true) messages, every one of them from the layer predating Dawn"
