#pragma once
// Orientation letters at the image edges (A/P, L/R, S/I), from the camera: the letter names the
// patient direction that points towards that edge. Oblique directions get two letters, dominant
// first ("RP"). The GUI draws the strings itself; offscreen images get them burnt in.
#include "render/Camera.h"
#include "render/Image.h"

#include <string>

namespace precis::render {

struct EdgeLabels {
    std::string left, right, top, bottom;
};

/// Letters for an LPS direction: components with |c| >= 0.38 (of the unit vector), largest first.
std::string directionLetters(const glm::dvec3& lps);
EdgeLabels edgeLabels(const Camera& camera);

/// Burns the labels into the image (white with a dark outline, 5x7 pixel font scaled to the
/// image size). `scale` 0 picks it from the image height.
void drawEdgeLabels(ImageRgba8& image, const EdgeLabels& labels, int scale = 0);

} // namespace precis::render
