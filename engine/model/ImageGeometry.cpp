#include "model/ImageGeometry.h"

#include <algorithm>
#include <cmath>

namespace precis::model {

glm::dmat4 ImageGeometry::worldFromIndexMatrix() const {
    glm::dmat4 m(1.0);
    for (int c = 0; c < 3; ++c) m[c] = glm::dvec4(direction[c] * spacingMm[c], 0.0);
    m[3] = glm::dvec4(originMm, 1.0);
    return m;
}

Bounds ImageGeometry::worldBounds() const {
    Bounds b{glm::dvec3(INFINITY), glm::dvec3(-INFINITY)};
    for (int c = 0; c < 8; ++c) {
        glm::dvec3 ijk((c & 1) ? dims[0] - 1 : 0, (c & 2) ? dims[1] - 1 : 0, (c & 4) ? dims[2] - 1 : 0);
        glm::dvec3 p = worldFromIndex(ijk);
        b.minMm = glm::min(b.minMm, p);
        b.maxMm = glm::max(b.maxMm, p);
    }
    return b;
}

bool ImageGeometry::hasOrthonormalDirection(double tol) const {
    for (int a = 0; a < 3; ++a) {
        if (std::abs(glm::length(direction[a]) - 1.0) > tol) return false;
        for (int b = a + 1; b < 3; ++b)
            if (std::abs(glm::dot(direction[a], direction[b])) > tol) return false;
    }
    return glm::determinant(direction) > 0.0;
}

bool ImageGeometry::sameGridAs(const ImageGeometry& o, double tol) const {
    if (dims != o.dims) return false;
    for (int a = 0; a < 3; ++a) {
        if (std::abs(spacingMm[a] - o.spacingMm[a]) > tol) return false;
        if (std::abs(originMm[a] - o.originMm[a]) > tol) return false;
        for (int b = 0; b < 3; ++b)
            if (std::abs(direction[a][b] - o.direction[a][b]) > tol) return false;
    }
    return true;
}

} // namespace precis::model
