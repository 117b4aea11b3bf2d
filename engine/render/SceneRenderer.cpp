#include "render/SceneRenderer.h"

#include "render/OffscreenTarget.h"
#include "render/OrientationLabels.h"
#include "render/detail/VkCheck.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace precis::render {

namespace {

const std::uint32_t kMeshVert[] =
#include "mesh.vert.spv.inc"
    ;
const std::uint32_t kMeshFrag[] =
#include "mesh.frag.spv.inc"
    ;
const std::uint32_t kBackgroundVert[] =
#include "background.vert.spv.inc"
    ;
const std::uint32_t kBackgroundFrag[] =
#include "background.frag.spv.inc"
    ;

// Matches the push_constant block of mesh.vert / mesh.frag (128 bytes: the guaranteed minimum).
struct MeshPush {
    float clipFromWorld[16];
    float viewRows[3][4];
    float color[4];
};
static_assert(sizeof(MeshPush) == 128);

struct BackgroundPush {
    float top[4];
    float bottom[4];
};

Result<VkShaderModule> makeShader(VkDevice device, const std::uint32_t* code, std::size_t bytes) {
    VkShaderModuleCreateInfo ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    ci.codeSize = bytes;
    ci.pCode = code;
    VkShaderModule m = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateShaderModule(device, &ci, nullptr, &m), "creating a shader");
    return m;
}

struct PipelineDesc {
    VkShaderModule vert, frag;
    VkPipelineLayout layout;
    bool meshInput;
    bool depthTest, depthWrite, blend;
};

Result<VkPipeline> makePipeline(VkDevice device, VkRenderPass pass, VkSampleCountFlagBits samples,
                                const PipelineDesc& d) {
    VkPipelineShaderStageCreateInfo stages[2]{};
    stages[0] = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    stages[0].stage = VK_SHADER_STAGE_VERTEX_BIT;
    stages[0].module = d.vert;
    stages[0].pName = "main";
    stages[1] = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    stages[1].stage = VK_SHADER_STAGE_FRAGMENT_BIT;
    stages[1].module = d.frag;
    stages[1].pName = "main";

    VkVertexInputBindingDescription binding{0, sizeof(float) * 6, VK_VERTEX_INPUT_RATE_VERTEX};
    VkVertexInputAttributeDescription attrs[2]{{0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0},
                                               {1, 0, VK_FORMAT_R32G32B32_SFLOAT, sizeof(float) * 3}};
    VkPipelineVertexInputStateCreateInfo vi{VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
    if (d.meshInput) {
        vi.vertexBindingDescriptionCount = 1;
        vi.pVertexBindingDescriptions = &binding;
        vi.vertexAttributeDescriptionCount = 2;
        vi.pVertexAttributeDescriptions = attrs;
    }
    VkPipelineInputAssemblyStateCreateInfo ia{VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
    ia.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;
    VkPipelineViewportStateCreateInfo vp{VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
    vp.viewportCount = 1;
    vp.scissorCount = 1;
    VkPipelineRasterizationStateCreateInfo rs{VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
    rs.polygonMode = VK_POLYGON_MODE_FILL;
    rs.cullMode = VK_CULL_MODE_NONE; // two-sided: cut surfaces show their inside
    // Meshes wind CCW seen from outside; the projection's y flip keeps that CCW in Vulkan's
    // framebuffer convention, so outside faces are front faces.
    rs.frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE;
    rs.lineWidth = 1.0f;
    VkPipelineMultisampleStateCreateInfo ms{VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
    ms.rasterizationSamples = samples;
    VkPipelineDepthStencilStateCreateInfo ds{VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO};
    ds.depthTestEnable = d.depthTest;
    ds.depthWriteEnable = d.depthWrite;
    ds.depthCompareOp = VK_COMPARE_OP_LESS_OR_EQUAL;
    VkPipelineColorBlendAttachmentState blend{};
    blend.colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT |
                           VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT;
    if (d.blend) {
        blend.blendEnable = VK_TRUE;
        blend.srcColorBlendFactor = VK_BLEND_FACTOR_SRC_ALPHA;
        blend.dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
        blend.colorBlendOp = VK_BLEND_OP_ADD;
        blend.srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE;
        blend.dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
        blend.alphaBlendOp = VK_BLEND_OP_ADD;
    }
    VkPipelineColorBlendStateCreateInfo cb{VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
    cb.attachmentCount = 1;
    cb.pAttachments = &blend;
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
    pci.renderPass = pass;
    pci.subpass = 0;
    VkPipeline p = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateGraphicsPipelines(device, VK_NULL_HANDLE, 1, &pci, nullptr, &p),
                  "creating a graphics pipeline");
    return p;
}

} // namespace

Result<std::unique_ptr<SceneRenderer>> SceneRenderer::create(Context& ctx, VkRenderPass renderPass,
                                                             VkSampleCountFlagBits samples) {
    std::unique_ptr<SceneRenderer> r(new SceneRenderer(ctx));
    VkDevice dev = ctx.device();

    VkPushConstantRange meshRange{VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0,
                                  sizeof(MeshPush)};
    VkPipelineLayoutCreateInfo lci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    lci.pushConstantRangeCount = 1;
    lci.pPushConstantRanges = &meshRange;
    PRECIS_VK_TRY(vkCreatePipelineLayout(dev, &lci, nullptr, &r->meshLayout_), "creating a pipeline layout");
    VkPushConstantRange bgRange{VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(BackgroundPush)};
    lci.pPushConstantRanges = &bgRange;
    PRECIS_VK_TRY(vkCreatePipelineLayout(dev, &lci, nullptr, &r->backgroundLayout_),
                  "creating a pipeline layout");

    struct Modules {
        VkDevice d;
        std::vector<VkShaderModule> m;
        ~Modules() {
            for (auto x : m) vkDestroyShaderModule(d, x, nullptr);
        }
    } modules{dev, {}};
    for (auto [code, bytes] : {std::pair{kMeshVert, sizeof(kMeshVert)}, std::pair{kMeshFrag, sizeof(kMeshFrag)},
                               std::pair{kBackgroundVert, sizeof(kBackgroundVert)},
                               std::pair{kBackgroundFrag, sizeof(kBackgroundFrag)}}) {
        auto m = makeShader(dev, code, bytes);
        if (!m) return std::unexpected(m.error());
        modules.m.push_back(*m);
    }
    auto opaque = makePipeline(dev, renderPass, samples,
                               {modules.m[0], modules.m[1], r->meshLayout_, true, true, true, false});
    if (!opaque) return std::unexpected(opaque.error());
    r->opaque_ = *opaque;
    auto translucent = makePipeline(dev, renderPass, samples,
                                    {modules.m[0], modules.m[1], r->meshLayout_, true, true, false, true});
    if (!translucent) return std::unexpected(translucent.error());
    r->translucent_ = *translucent;
    auto bg = makePipeline(dev, renderPass, samples,
                           {modules.m[2], modules.m[3], r->backgroundLayout_, false, false, false, false});
    if (!bg) return std::unexpected(bg.error());
    r->background_ = *bg;
    return r;
}

SceneRenderer::~SceneRenderer() {
    VkDevice dev = ctx_->device();
    auto handles = std::vector<VkPipeline>{opaque_, translucent_, background_};
    auto layouts = std::vector<VkPipelineLayout>{meshLayout_, backgroundLayout_};
    ctx_->deferDestroy([dev, handles, layouts] {
        for (auto p : handles)
            if (p) vkDestroyPipeline(dev, p, nullptr);
        for (auto l : layouts)
            if (l) vkDestroyPipelineLayout(dev, l, nullptr);
    });
}

void SceneRenderer::record(VkCommandBuffer cmd, std::span<const Drawable> drawables,
                           const Camera& camera, const ViewportRect& rect,
                           const Background& background) const {
    if (!(rect.width >= 1 && rect.height >= 1)) return;
    VkViewport vp{rect.x, rect.y, rect.width, rect.height, 0.0f, 1.0f};
    vkCmdSetViewport(cmd, 0, 1, &vp);
    VkRect2D scissor{{static_cast<std::int32_t>(std::max(0.0f, std::floor(rect.x))),
                      static_cast<std::int32_t>(std::max(0.0f, std::floor(rect.y)))},
                     {static_cast<std::uint32_t>(std::ceil(rect.width)),
                      static_cast<std::uint32_t>(std::ceil(rect.height))}};
    vkCmdSetScissor(cmd, 0, 1, &scissor);

    BackgroundPush bg{};
    std::memcpy(bg.top, &background.top, sizeof(bg.top));
    std::memcpy(bg.bottom, &background.bottom, sizeof(bg.bottom));
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, background_);
    vkCmdPushConstants(cmd, backgroundLayout_, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(bg), &bg);
    vkCmdDraw(cmd, 3, 1, 0, 0);

    const double aspect = double(rect.width) / double(rect.height);
    const glm::mat4 clip = glm::mat4(camera.clipFromWorld(aspect));
    const glm::dmat4 view = camera.viewFromWorld();
    MeshPush push{};
    std::memcpy(push.clipFromWorld, &clip[0][0], sizeof(push.clipFromWorld));
    for (int row = 0; row < 3; ++row)
        for (int col = 0; col < 4; ++col) push.viewRows[row][col] = static_cast<float>(view[col][row]);

    for (int pass = 0; pass < 2; ++pass) {
        const bool translucentPass = pass == 1;
        bool bound = false;
        for (const auto& d : drawables) {
            if (!d.visible || !d.mesh || d.mesh->indexCount() == 0) continue;
            if ((d.colorRgba.a < 0.999f) != translucentPass) continue;
            if (!bound) {
                vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, translucentPass ? translucent_ : opaque_);
                bound = true;
            }
            std::memcpy(push.color, &d.colorRgba, sizeof(push.color));
            vkCmdPushConstants(cmd, meshLayout_, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT,
                               0, sizeof(push), &push);
            const VkBuffer vb = d.mesh->vertexBuffer();
            const VkDeviceSize offset = 0;
            vkCmdBindVertexBuffers(cmd, 0, 1, &vb, &offset);
            vkCmdBindIndexBuffer(cmd, d.mesh->indexBuffer(), 0, VK_INDEX_TYPE_UINT32);
            vkCmdDrawIndexed(cmd, d.mesh->indexCount(), 1, 0, 0, 0);
        }
    }
}

Result<ImageRgba8> renderMeshesOffscreen(Context& ctx, std::span<const MeshItem> items,
                                         const Camera& camera, int width, int height) {
    return renderMeshesOffscreen(ctx, items, camera, width, height, OffscreenOptions{});
}

Result<ImageRgba8> renderMeshesOffscreen(Context& ctx, std::span<const MeshItem> items,
                                         const Camera& camera, int width, int height,
                                         const OffscreenOptions& options) {
    std::vector<Drawable> drawables;
    for (const auto& item : items) {
        if (!item.mesh) return fail(ErrorCode::InvalidArgument, "no mesh given to render");
        auto gpu = GpuMesh::upload(ctx, *item.mesh);
        if (!gpu) return std::unexpected(gpu.error());
        drawables.push_back({*gpu, item.colorRgba, true});
    }
    auto target = OffscreenTarget::create(ctx, width, height);
    if (!target) return std::unexpected(target.error());
    auto renderer = SceneRenderer::create(ctx, (*target)->renderPass(), (*target)->samples());
    if (!renderer) return std::unexpected(renderer.error());
    const OffscreenTarget& t = **target;
    auto done = ctx.submitImmediate([&](VkCommandBuffer cmd) {
        t.beginRenderPass(cmd);
        (*renderer)->record(cmd, drawables, camera,
                            {0, 0, float(t.extent().width), float(t.extent().height)},
                            options.background);
        t.endRenderPassAndCopy(cmd);
    });
    if (!done) return std::unexpected(done.error());
    ImageRgba8 image = t.readback();
    if (options.orientationLabels) drawEdgeLabels(image, edgeLabels(camera));
    return image;
}

} // namespace precis::render
