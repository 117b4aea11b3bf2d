#pragma once
// Graphics pipeline construction shared by the renderers (scene, slices, composite). Viewport and
// scissor are dynamic; everything else is fixed per pipeline.
#include "core/Error.h"

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace precis::render::detail {

enum class BlendMode {
    None,
    Alpha,     // src * a + dst * (1 - a)
    OitAccum,  // attachment 0: additive; attachment 1: dst * (1 - src) (weighted blended OIT)
};

struct PipelineDesc {
    VkShaderModule vert = VK_NULL_HANDLE, frag = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkRenderPass renderPass = VK_NULL_HANDLE;
    std::uint32_t subpass = 0;
    VkSampleCountFlagBits samples = VK_SAMPLE_COUNT_1_BIT;
    bool meshInput = false; // GpuMesh vertices at binding 0: float3 position, float3 normal, RGBA8 colour
    VkPrimitiveTopology topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;
    bool depthTest = false, depthWrite = false;
    BlendMode blend = BlendMode::None;
    std::uint32_t colorAttachments = 1;
    bool cullBack = false;
};

Result<VkShaderModule> makeShader(VkDevice device, const std::uint32_t* code, std::size_t bytes);
Result<VkPipeline> makePipeline(VkDevice device, const PipelineDesc& desc);
/// A pool whose sets can be freed one by one (sets replaced while frames in flight use the old).
Result<VkDescriptorPool> makeDescriptorPool(VkDevice device, std::span<const VkDescriptorPoolSize> sizes,
                                            std::uint32_t maxSets);
Result<VkPipelineLayout> makePipelineLayout(VkDevice device,
                                            std::span<const VkDescriptorSetLayout> sets,
                                            VkShaderStageFlags pushStages, std::uint32_t pushBytes);

/// Owns shader modules until pipelines are built (modules may go once pipelines exist).
struct ShaderModules {
    VkDevice device = VK_NULL_HANDLE;
    std::vector<VkShaderModule> modules;
    ShaderModules() = default;
    explicit ShaderModules(VkDevice d) : device(d) {}
    ~ShaderModules() {
        for (auto m : modules) vkDestroyShaderModule(device, m, nullptr);
    }
    ShaderModules(const ShaderModules&) = delete;
    ShaderModules& operator=(const ShaderModules&) = delete;
    /// Adds a module; returns it (VK_NULL_HANDLE and sets `error` on failure).
    Result<VkShaderModule> add(const std::uint32_t* code, std::size_t bytes) {
        auto m = makeShader(device, code, bytes);
        if (m) modules.push_back(*m);
        return m;
    }
};

/// Sets viewport and scissor to a rectangle of the target (pixels, origin top-left).
void setViewportAndScissor(VkCommandBuffer cmd, float x, float y, float width, float height);

} // namespace precis::render::detail
