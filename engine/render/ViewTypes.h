#pragma once
// Small value types shared by the renderers.
namespace precis::render {

/// Pixels of the target, origin top-left.
struct ViewportRect {
    float x = 0, y = 0, width = 0, height = 0;
};

} // namespace precis::render
