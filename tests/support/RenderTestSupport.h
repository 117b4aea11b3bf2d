#pragma once
// Shared by the render tests: analytic meshes, a validated context, golden comparison.
#include "model/Mesh.h"
#include "render/Context.h"
#include "render/Image.h"

#include <glm/glm.hpp>

#include <memory>
#include <string>

namespace precis::render::test {

/// UV sphere, CCW outward, with analytic (radial) normals. LPS mm.
model::Mesh makeUvSphere(const glm::vec3& centerMm, float radiusMm, int stacks = 48, int slices = 96);

/// A Context with validation on; fails the current test (ADD_FAILURE) and returns null when none.
std::unique_ptr<Context> makeValidatedContext();

/// Asserts no validation warnings/errors were recorded, listing them otherwise.
void expectNoValidationMessages(const Context& ctx);

/// Compares against tests/render/golden/<name>.png: mean |diff| < 2 (of 255) and < 0.5 % of the
/// pixels with a channel off by more than 32. Always writes the actual image to
/// build/test-output/render/<name>.png, plus <name>.diff.png on mismatch. With
/// PRECIS_UPDATE_GOLDENS=1 the golden is (re)written instead.
void expectMatchesGolden(const ImageRgba8& actual, const std::string& name);

} // namespace precis::render::test
