#include "render/GpuVolume.h"

#include "render/detail/Pipeline.h"
#include "render/detail/Resources.h"
#include "render/detail/VkCheck.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace precis::render {

namespace {

bool canFilter(VkPhysicalDevice pd, VkFormat f) {
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(pd, f, &fp);
    const VkFormatFeatureFlags need = VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT |
                                      VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT |
                                      VK_FORMAT_FEATURE_TRANSFER_DST_BIT;
    return (fp.optimalTilingFeatures & need) == need;
}

/// Each palette entry: a hue walk with fixed saturation (golden-angle steps keep neighbours apart).
glm::vec3 hueColor(int label) {
    const double h = std::fmod(label * 137.508, 360.0) / 60.0;
    const double c = 0.75, x = c * (1 - std::abs(std::fmod(h, 2.0) - 1)), m = 0.2;
    glm::dvec3 rgb;
    if (h < 1) rgb = {c, x, 0};
    else if (h < 2) rgb = {x, c, 0};
    else if (h < 3) rgb = {0, c, x};
    else if (h < 4) rgb = {0, x, c};
    else if (h < 5) rgb = {x, 0, c};
    else rgb = {c, 0, x};
    return glm::vec3(rgb + m);
}

} // namespace

LabelPalette defaultLabelPalette() {
    LabelPalette p{};
    for (int i = 1; i < 256; ++i) p[i] = glm::vec4(hueColor(i), 1.0f);
    return p;
}

LabelPalette paletteFromStructures(std::span<const model::Structure> structures,
                                   float softTissueOpacity) {
    LabelPalette p{};
    for (const auto& st : structures) {
        if (st.label == 0) continue;
        const bool soft = st.kind == model::StructureKind::Skin || st.kind == model::StructureKind::Fat ||
                          st.kind == model::StructureKind::Muscle;
        p[st.label] = glm::vec4(st.defaultColor, soft ? softTissueOpacity : 1.0f);
    }
    return p;
}

Result<VkDescriptorSetLayout> GpuVolume::createSetLayout(VkDevice device) {
    VkDescriptorSetLayoutBinding b[3]{};
    b[0] = {0, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, nullptr};
    b[1] = {1, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, nullptr};
    b[2] = {2, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    ci.bindingCount = 3;
    ci.pBindings = b;
    VkDescriptorSetLayout layout = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateDescriptorSetLayout(device, &ci, nullptr, &layout),
                  "creating a descriptor set layout");
    return layout;
}

Result<std::shared_ptr<GpuVolume>> GpuVolume::upload(Context& ctx, const model::Volume& volume,
                                                     const model::LabelMap* labels) {
    const auto& g = volume.geometry;
    if (g.dims[0] < 1 || g.dims[1] < 1 || g.dims[2] < 1 || volume.voxels.size() != g.voxelCount())
        return fail(ErrorCode::InvalidArgument, "the volume to show has no voxels");
    if (labels && (!labels->geometry.sameGridAs(g) || labels->voxels.size() != g.voxelCount()))
        return fail(ErrorCode::InvalidArgument,
                    "the label map is not on the image's grid; resample it onto the series first");
    const auto maxDim = ctx.properties().limits.maxImageDimension3D;
    for (int a = 0; a < 3; ++a)
        if (std::uint32_t(g.dims[a]) > maxDim)
            return fail(ErrorCode::DeviceError,
                        "the volume is larger than the GPU's 3D textures allow (" +
                            std::to_string(maxDim) + " voxels per side)");

    std::shared_ptr<GpuVolume> v(new GpuVolume(ctx));
    v->geometry_ = g;
    v->hasLabels_ = labels != nullptr;
    // texture = (indexFromWorld + 0.5) / dims
    const glm::dmat4 worldFromIndex = g.worldFromIndexMatrix();
    glm::dmat4 texFromIndex(1.0);
    for (int a = 0; a < 3; ++a) {
        texFromIndex[a][a] = 1.0 / g.dims[a];
        texFromIndex[3][a] = 0.5 / g.dims[a];
    }
    v->textureFromWorld_ = texFromIndex * glm::inverse(worldFromIndex);

    VkDevice dev = ctx.device();
    const bool snorm = canFilter(ctx.physicalDevice(), VK_FORMAT_R16_SNORM);
    const VkFormat ctFormat = snorm ? VK_FORMAT_R16_SNORM : VK_FORMAT_R32_SFLOAT;
    if (!snorm && !canFilter(ctx.physicalDevice(), VK_FORMAT_R32_SFLOAT))
        return fail(ErrorCode::DeviceError, "the GPU cannot filter 16-bit or float 3D textures");
    v->unitsPerHu_ = snorm ? 1.0 / 32767.0 : 1.0;

    auto makeTexture = [&](VkExtent3D extent, VkFormat format, Texture& t) -> Result<void> {
        VkImageCreateInfo ici{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
        ici.imageType = VK_IMAGE_TYPE_3D;
        ici.format = format;
        ici.extent = extent;
        ici.mipLevels = 1;
        ici.arrayLayers = 1;
        ici.samples = VK_SAMPLE_COUNT_1_BIT;
        ici.tiling = VK_IMAGE_TILING_OPTIMAL;
        ici.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
        ici.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
        PRECIS_VK_TRY(vkCreateImage(dev, &ici, nullptr, &t.image), "creating a 3D texture");
        VkMemoryRequirements req;
        vkGetImageMemoryRequirements(dev, t.image, &req);
        auto type = ctx.findMemoryType(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (!type) type = ctx.findMemoryType(req.memoryTypeBits, 0);
        if (!type) return fail(ErrorCode::DeviceError, "the GPU has no memory for a 3D texture");
        VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
        mai.allocationSize = req.size;
        mai.memoryTypeIndex = *type;
        PRECIS_VK_TRY(vkAllocateMemory(dev, &mai, nullptr, &t.memory),
                      "allocating GPU memory for the volume (out of memory?)");
        PRECIS_VK_TRY(vkBindImageMemory(dev, t.image, t.memory, 0), "binding GPU memory");
        VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
        vci.image = t.image;
        vci.viewType = VK_IMAGE_VIEW_TYPE_3D;
        vci.format = format;
        vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        PRECIS_VK_TRY(vkCreateImageView(dev, &vci, nullptr, &t.view), "creating an image view");
        return {};
    };
    const VkExtent3D extent{std::uint32_t(g.dims[0]), std::uint32_t(g.dims[1]), std::uint32_t(g.dims[2])};
    const VkExtent3D labelExtent = labels ? extent : VkExtent3D{1, 1, 1};
    if (auto r = makeTexture(extent, ctFormat, v->ct_); !r) return std::unexpected(r.error());
    if (auto r = makeTexture(labelExtent, VK_FORMAT_R8_UINT, v->labels_); !r)
        return std::unexpected(r.error());

    // One staging buffer for both (CT first, labels after, 4-byte aligned).
    const std::size_t n = g.voxelCount();
    const VkDeviceSize ctBytes = n * (snorm ? 2 : 4);
    const VkDeviceSize labelOffset = (ctBytes + 3) & ~VkDeviceSize(3);
    const VkDeviceSize labelBytes = labels ? n : 1;
    auto staging = detail::Buffer::create(ctx, labelOffset + labelBytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                          VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (!staging) return std::unexpected(staging.error());
    auto* base = static_cast<std::uint8_t*>(staging->mapped());
    if (snorm) {
        // int16 HU and R16_SNORM share the bit pattern: value / 32767.
        std::memcpy(base, volume.voxels.data(), ctBytes);
    } else {
        auto* f = reinterpret_cast<float*>(base);
        for (std::size_t i = 0; i < n; ++i) f[i] = float(volume.voxels[i]);
    }
    if (labels) std::memcpy(base + labelOffset, labels->voxels.data(), n);
    else base[labelOffset] = 0;
    staging->flush();

    const VkBuffer src = staging->handle();
    const VkImage ctImage = v->ct_.image, labelImage = v->labels_.image;
    auto done = ctx.submitImmediate([&](VkCommandBuffer cmd) {
        VkImageMemoryBarrier b[2]{};
        for (int i = 0; i < 2; ++i) {
            b[i] = {VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
            b[i].srcAccessMask = 0;
            b[i].dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
            b[i].oldLayout = VK_IMAGE_LAYOUT_UNDEFINED;
            b[i].newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
            b[i].srcQueueFamilyIndex = b[i].dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
            b[i].image = i == 0 ? ctImage : labelImage;
            b[i].subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        }
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                             0, 0, nullptr, 0, nullptr, 2, b);
        VkBufferImageCopy copy{};
        copy.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
        copy.imageExtent = extent;
        vkCmdCopyBufferToImage(cmd, src, ctImage, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &copy);
        copy.bufferOffset = labelOffset;
        copy.imageExtent = labelExtent;
        vkCmdCopyBufferToImage(cmd, src, labelImage, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &copy);
        for (auto& x : b) {
            x.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
            x.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
            x.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
            x.newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
        }
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT,
                             0, 0, nullptr, 0, nullptr, 2, b);
    });
    if (!done) return std::unexpected(done.error());

    VkSamplerCreateInfo sci{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
    sci.magFilter = sci.minFilter = VK_FILTER_LINEAR;
    sci.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST;
    sci.addressModeU = sci.addressModeV = sci.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
    sci.maxLod = 0.0f;
    PRECIS_VK_TRY(vkCreateSampler(dev, &sci, nullptr, &v->linear_), "creating a sampler");
    sci.magFilter = sci.minFilter = VK_FILTER_NEAREST;
    PRECIS_VK_TRY(vkCreateSampler(dev, &sci, nullptr, &v->nearest_), "creating a sampler");

    auto layout = createSetLayout(dev);
    if (!layout) return std::unexpected(layout.error());
    v->setLayout_ = *layout;
    // Each palette change allocates a new set (the old one may be in use by frames in flight and
    // is freed later), so the pool allows freeing and holds a few.
    const VkDescriptorPoolSize sizes[2]{{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16},
                                        {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 8}};
    auto pool = detail::makeDescriptorPool(dev, sizes, 8);
    if (!pool) return std::unexpected(pool.error());
    v->pool_ = *pool;
    if (auto r = v->setPalette(defaultLabelPalette()); !r) return std::unexpected(r.error());
    return v;
}

Result<void> GpuVolume::setPalette(const LabelPalette& palette) {
    VkDevice dev = ctx_->device();
    auto buffer = detail::Buffer::create(*ctx_, sizeof(LabelPalette), VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                         VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                             VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (!buffer) return std::unexpected(buffer.error());
    std::memcpy(buffer->mapped(), palette.data(), sizeof(LabelPalette));
    buffer->flush();

    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pool_;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &setLayout_;
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (vkAllocateDescriptorSets(dev, &ai, &set) != VK_SUCCESS) {
        // Pool exhausted by sets still in flight: wait for the GPU (runs their deferred frees),
        // then retry once.
        if (auto w = ctx_->waitIdle(); !w) return std::unexpected(w.error());
        PRECIS_VK_TRY(vkAllocateDescriptorSets(dev, &ai, &set), "allocating a descriptor set");
    }
    VkDescriptorImageInfo images[2]{
        {linear_, ct_.view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL},
        {nearest_, labels_.view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL}};
    VkDescriptorBufferInfo bufferInfo{buffer->handle(), 0, sizeof(LabelPalette)};
    VkWriteDescriptorSet w[3]{};
    for (int i = 0; i < 3; ++i) {
        w[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w[i].dstSet = set;
        w[i].dstBinding = std::uint32_t(i);
        w[i].descriptorCount = 1;
    }
    w[0].descriptorType = w[1].descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
    w[0].pImageInfo = &images[0];
    w[1].pImageInfo = &images[1];
    w[2].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
    w[2].pBufferInfo = &bufferInfo;
    vkUpdateDescriptorSets(dev, 3, w, 0, nullptr);

    if (set_) {
        VkDescriptorPool pool = pool_;
        VkDescriptorSet old = set_;
        ctx_->deferDestroy([dev, pool, old] { vkFreeDescriptorSets(dev, pool, 1, &old); });
    }
    if (paletteBuffer_.handle()) ctx_->deferDestroy(paletteBuffer_.release());
    set_ = set;
    paletteBuffer_ = std::move(*buffer);
    palette_ = palette;
    return {};
}

GpuVolume::~GpuVolume() {
    VkDevice dev = ctx_->device();
    if (paletteBuffer_.handle()) ctx_->deferDestroy(paletteBuffer_.release());
    const Texture ct = ct_, labels = labels_;
    const VkSampler linear = linear_, nearest = nearest_;
    const VkDescriptorPool pool = pool_;
    const VkDescriptorSetLayout layout = setLayout_;
    ctx_->deferDestroy([=] {
        for (const Texture& t : {ct, labels}) {
            if (t.view) vkDestroyImageView(dev, t.view, nullptr);
            if (t.image) vkDestroyImage(dev, t.image, nullptr);
            if (t.memory) vkFreeMemory(dev, t.memory, nullptr);
        }
        if (linear) vkDestroySampler(dev, linear, nullptr);
        if (nearest) vkDestroySampler(dev, nearest, nullptr);
        if (pool) vkDestroyDescriptorPool(dev, pool, nullptr); // frees its sets
        if (layout) vkDestroyDescriptorSetLayout(dev, layout, nullptr);
    });
}

} // namespace precis::render
