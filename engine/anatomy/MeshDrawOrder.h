#pragma once
// Reorders a mesh for drawing: triangles for the post-transform vertex cache, then vertices in
// first-use order (meshoptimizer). The surface is unchanged (same triangles, same winding, same
// vertex values); only the order of triangles and vertices moves. CPU rasterisers (lavapipe)
// shade each vertex once per cache miss, so this cuts their vertex work severalfold on meshes
// straight out of marching cubes.
#include "model/Mesh.h"

namespace precis::anatomy {

/// In place; normals (when present) follow their vertices.
void optimizeDrawOrder(model::Mesh& mesh);

} // namespace precis::anatomy
