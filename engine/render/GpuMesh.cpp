#include "render/GpuMesh.h"

#include <cmath>
#include <cstring>
#include <string>

namespace precis::render {

Result<std::shared_ptr<GpuMesh>> GpuMesh::upload(Context& ctx, const model::Mesh& meshIn,
                                                 std::span<const glm::vec4> vertexColors) {
    if (!vertexColors.empty() && vertexColors.size() != meshIn.positions.size())
        return fail(ErrorCode::InvalidArgument, "vertex colours do not match the mesh",
                    std::to_string(vertexColors.size()) + " colours for " +
                        std::to_string(meshIn.positions.size()) + " vertices");
    const model::Mesh* mesh = &meshIn;
    model::Mesh withNormals;
    if (meshIn.normals.size() != meshIn.positions.size()) {
        withNormals = meshIn;
        withNormals.computeNormals();
        mesh = &withNormals;
    }
    for (std::uint32_t i : mesh->indices)
        if (i >= mesh->positions.size())
            return fail(ErrorCode::InvalidArgument, "mesh has an index outside its vertices",
                        "index " + std::to_string(i) + " of " + std::to_string(mesh->positions.size()));

    std::shared_ptr<GpuMesh> gpu(new GpuMesh(ctx));
    gpu->indexCount_ = static_cast<std::uint32_t>(mesh->indices.size());
    gpu->bounds_ = mesh->bounds();
    if (mesh->indices.empty() || mesh->positions.empty()) return gpu; // draws nothing

    const VkDeviceSize vbytes = mesh->positions.size() * kVertexBytes;
    const VkDeviceSize ibytes = mesh->indices.size() * sizeof(std::uint32_t);
    auto staging = detail::Buffer::create(ctx, vbytes + ibytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                          VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (!staging) return std::unexpected(staging.error());
    auto* dst = static_cast<unsigned char*>(staging->mapped());
    for (std::size_t v = 0; v < mesh->positions.size(); ++v) {
        unsigned char* out = dst + v * kVertexBytes;
        std::memcpy(out, &mesh->positions[v], sizeof(float) * 3);
        std::memcpy(out + 12, &mesh->normals[v], sizeof(float) * 3);
        const glm::vec4 c = vertexColors.empty() ? glm::vec4(1.0f) : glm::clamp(vertexColors[v], 0.0f, 1.0f);
        for (int i = 0; i < 4; ++i) out[24 + i] = static_cast<unsigned char>(std::lround(c[i] * 255.0f));
    }
    std::memcpy(static_cast<char*>(staging->mapped()) + vbytes, mesh->indices.data(), ibytes);
    staging->flush();

    auto vb = detail::Buffer::create(ctx, vbytes,
                                     VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                     VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (!vb) return std::unexpected(vb.error());
    auto ib = detail::Buffer::create(ctx, ibytes,
                                     VK_BUFFER_USAGE_INDEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                     VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (!ib) return std::unexpected(ib.error());
    gpu->vertices_ = std::move(*vb);
    gpu->indices_ = std::move(*ib);
    const VkBuffer src = staging->handle(), vdst = gpu->vertices_.handle(), idst = gpu->indices_.handle();
    auto done = ctx.submitImmediate([&](VkCommandBuffer cmd) {
        VkBufferCopy vcopy{0, 0, vbytes};
        vkCmdCopyBuffer(cmd, src, vdst, 1, &vcopy);
        VkBufferCopy icopy{vbytes, 0, ibytes};
        vkCmdCopyBuffer(cmd, src, idst, 1, &icopy);
        VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        barrier.dstAccessMask = VK_ACCESS_VERTEX_ATTRIBUTE_READ_BIT | VK_ACCESS_INDEX_READ_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_VERTEX_INPUT_BIT,
                             0, 1, &barrier, 0, nullptr, 0, nullptr);
    });
    if (!done) return std::unexpected(done.error());
    return gpu;
}

GpuMesh::~GpuMesh() {
    if (vertices_.handle()) ctx_->deferDestroy(vertices_.release());
    if (indices_.handle()) ctx_->deferDestroy(indices_.release());
}

} // namespace precis::render
