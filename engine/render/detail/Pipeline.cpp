#include "render/detail/Pipeline.h"

#include "render/detail/VkCheck.h"

#include <algorithm>
#include <cmath>

namespace precis::render::detail {

Result<VkShaderModule> makeShader(VkDevice device, const std::uint32_t* code, std::size_t bytes) {
    VkShaderModuleCreateInfo ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    ci.codeSize = bytes;
    ci.pCode = code;
    VkShaderModule m = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateShaderModule(device, &ci, nullptr, &m), "creating a shader");
    return m;
}

Result<VkDescriptorPool> makeDescriptorPool(VkDevice device, std::span<const VkDescriptorPoolSize> sizes,
                                            std::uint32_t maxSets) {
    VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pci.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
    pci.maxSets = maxSets;
    pci.poolSizeCount = static_cast<std::uint32_t>(sizes.size());
    pci.pPoolSizes = sizes.data();
    VkDescriptorPool pool = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateDescriptorPool(device, &pci, nullptr, &pool), "creating a descriptor pool");
    return pool;
}

Result<VkPipelineLayout> makePipelineLayout(VkDevice device,
                                            std::span<const VkDescriptorSetLayout> sets,
                                            VkShaderStageFlags pushStages, std::uint32_t pushBytes) {
    VkPushConstantRange range{pushStages, 0, pushBytes};
    VkPipelineLayoutCreateInfo lci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    lci.setLayoutCount = static_cast<std::uint32_t>(sets.size());
    lci.pSetLayouts = sets.data();
    lci.pushConstantRangeCount = pushBytes > 0 ? 1 : 0;
    lci.pPushConstantRanges = pushBytes > 0 ? &range : nullptr;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreatePipelineLayout(device, &lci, nullptr, &layout), "creating a pipeline layout");
    return layout;
}

Result<VkPipeline> makePipeline(VkDevice device, const PipelineDesc& d) {
    VkPipelineShaderStageCreateInfo stages[2]{};
    stages[0] = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    stages[0].stage = VK_SHADER_STAGE_VERTEX_BIT;
    stages[0].module = d.vert;
    stages[0].pName = "main";
    stages[1] = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    stages[1].stage = VK_SHADER_STAGE_FRAGMENT_BIT;
    stages[1].module = d.frag;
    stages[1].pName = "main";

    // GpuMesh's vertex: position, normal (float3 each), colour (RGBA8).
    VkVertexInputBindingDescription binding{0, sizeof(float) * 6 + 4, VK_VERTEX_INPUT_RATE_VERTEX};
    VkVertexInputAttributeDescription attrs[3]{{0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0},
                                               {1, 0, VK_FORMAT_R32G32B32_SFLOAT, sizeof(float) * 3},
                                               {2, 0, VK_FORMAT_R8G8B8A8_UNORM, sizeof(float) * 6}};
    VkPipelineVertexInputStateCreateInfo vi{VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
    if (d.meshInput) {
        vi.vertexBindingDescriptionCount = 1;
        vi.pVertexBindingDescriptions = &binding;
        vi.vertexAttributeDescriptionCount = 3;
        vi.pVertexAttributeDescriptions = attrs;
    }
    VkPipelineInputAssemblyStateCreateInfo ia{VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
    ia.topology = d.topology;
    VkPipelineViewportStateCreateInfo vp{VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
    vp.viewportCount = 1;
    vp.scissorCount = 1;
    VkPipelineRasterizationStateCreateInfo rs{VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
    rs.polygonMode = VK_POLYGON_MODE_FILL;
    rs.cullMode = d.cullBack ? VK_CULL_MODE_BACK_BIT : VK_CULL_MODE_NONE; // two-sided by default: cut surfaces show their inside
    // Meshes wind CCW seen from outside; the projection's y flip keeps that CCW in Vulkan's
    // framebuffer convention, so outside faces are front faces.
    rs.frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE;
    rs.lineWidth = 1.0f;
    VkPipelineMultisampleStateCreateInfo ms{VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
    ms.rasterizationSamples = d.samples;
    VkPipelineDepthStencilStateCreateInfo ds{VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO};
    ds.depthTestEnable = d.depthTest;
    ds.depthWriteEnable = d.depthWrite;
    ds.depthCompareOp = VK_COMPARE_OP_LESS_OR_EQUAL;

    VkPipelineColorBlendAttachmentState blends[2]{};
    for (auto& b : blends)
        b.colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT |
                           VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT;
    switch (d.blend) {
    case BlendMode::None: break;
    case BlendMode::Alpha:
        blends[0].blendEnable = VK_TRUE;
        blends[0].srcColorBlendFactor = VK_BLEND_FACTOR_SRC_ALPHA;
        blends[0].dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
        blends[0].colorBlendOp = VK_BLEND_OP_ADD;
        blends[0].srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE;
        blends[0].dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
        blends[0].alphaBlendOp = VK_BLEND_OP_ADD;
        break;
    case BlendMode::OitAccum:
        blends[0].blendEnable = VK_TRUE;
        blends[0].srcColorBlendFactor = VK_BLEND_FACTOR_ONE;
        blends[0].dstColorBlendFactor = VK_BLEND_FACTOR_ONE;
        blends[0].colorBlendOp = VK_BLEND_OP_ADD;
        blends[0].srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE;
        blends[0].dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE;
        blends[0].alphaBlendOp = VK_BLEND_OP_ADD;
        blends[1].blendEnable = VK_TRUE;
        blends[1].srcColorBlendFactor = VK_BLEND_FACTOR_ZERO;
        blends[1].dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_COLOR;
        blends[1].colorBlendOp = VK_BLEND_OP_ADD;
        blends[1].srcAlphaBlendFactor = VK_BLEND_FACTOR_ZERO;
        blends[1].dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
        blends[1].alphaBlendOp = VK_BLEND_OP_ADD;
        blends[1].colorWriteMask = VK_COLOR_COMPONENT_R_BIT;
        break;
    }
    VkPipelineColorBlendStateCreateInfo cb{VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
    cb.attachmentCount = std::min<std::uint32_t>(d.colorAttachments, 2);
    cb.pAttachments = blends;
    const VkDynamicState dyn[] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
    VkPipelineDynamicStateCreateInfo dy{VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO};
    dy.dynamicStateCount = 2;
    dy.pDynamicStates = dyn;

    VkGraphicsPipelineCreateInfo pci{VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO};
    pci.stageCount = 2;
    pci.pStages = stages;
    pci.pVertexInputState = &vi;
    pci.pInputAssemblyState = &ia;
    pci.pViewportState = &vp;
    pci.pRasterizationState = &rs;
    pci.pMultisampleState = &ms;
    pci.pDepthStencilState = &ds;
    pci.pColorBlendState = &cb;
    pci.pDynamicState = &dy;
    pci.layout = d.layout;
    pci.renderPass = d.renderPass;
    pci.subpass = d.subpass;
    VkPipeline p = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateGraphicsPipelines(device, VK_NULL_HANDLE, 1, &pci, nullptr, &p),
                  "creating a graphics pipeline");
    return p;
}

void setViewportAndScissor(VkCommandBuffer cmd, float x, float y, float width, float height) {
    VkViewport vp{x, y, width, height, 0.0f, 1.0f};
    vkCmdSetViewport(cmd, 0, 1, &vp);
    VkRect2D scissor{{static_cast<std::int32_t>(std::max(0.0f, std::floor(x))),
                      static_cast<std::int32_t>(std::max(0.0f, std::floor(y)))},
                     {static_cast<std::uint32_t>(std::max(1.0f, std::ceil(width))),
                      static_cast<std::uint32_t>(std::max(1.0f, std::ceil(height)))}};
    vkCmdSetScissor(cmd, 0, 1, &scissor);
}

} // namespace precis::render::detail
