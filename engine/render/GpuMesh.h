#pragma once
// A model::Mesh uploaded to the GPU (the drawable mirror of a model object; the model never knows
// about it). Interleaved position + normal (float3 + float3) + colour (RGBA8, sRGB-encoded; white
// unless given) vertices and uint32 indices, in LPS mm. The colour multiplies the drawable's
// (per-vertex maps, e.g. the skin risk map).
// Destruction is deferred through the Context until no frame in flight can still read it, so a
// GpuMesh may be dropped at any time on the render thread.
#include "core/Error.h"
#include "model/Mesh.h"
#include "render/Context.h"
#include "render/detail/Resources.h"

#include <glm/glm.hpp>

#include <memory>
#include <span>

namespace precis::render {

class GpuMesh {
public:
    /// Uploads through a staging buffer (waits for the copy). Normals are computed when the mesh
    /// has none. `vertexColors`: one sRGB-encoded RGBA per vertex, or empty (white).
    /// InvalidArgument for an index outside the vertex array or a colour count that is neither.
    static Result<std::shared_ptr<GpuMesh>> upload(Context& ctx, const model::Mesh& mesh,
                                                   std::span<const glm::vec4> vertexColors = {});
    /// Bytes per vertex: position, normal, colour.
    static constexpr std::uint32_t kVertexBytes = sizeof(float) * 6 + 4;
    ~GpuMesh();
    GpuMesh(const GpuMesh&) = delete;
    GpuMesh& operator=(const GpuMesh&) = delete;

    [[nodiscard]] VkBuffer vertexBuffer() const { return vertices_.handle(); }
    [[nodiscard]] VkBuffer indexBuffer() const { return indices_.handle(); }
    [[nodiscard]] std::uint32_t indexCount() const { return indexCount_; }
    [[nodiscard]] const model::Bounds& bounds() const { return bounds_; }

private:
    explicit GpuMesh(Context& ctx) : ctx_(&ctx) {}
    Context* ctx_;
    detail::Buffer vertices_;
    detail::Buffer indices_;
    std::uint32_t indexCount_ = 0;
    model::Bounds bounds_;
};

} // namespace precis::render
