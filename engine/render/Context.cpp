#include "render/Context.h"

#include "core/Log.h"
#include "render/detail/VkCheck.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace precis::render {

using detail::vkFail;

struct Context::ValidationLog {
    mutable std::mutex mutex;
    std::vector<std::string> messages;
};

namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

VKAPI_ATTR VkBool32 VKAPI_CALL onDebugMessage(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                              VkDebugUtilsMessageTypeFlagsEXT /*types*/,
                                              const VkDebugUtilsMessengerCallbackDataEXT* data,
                                              void* user) {
    if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
    auto* log = static_cast<Context::ValidationLog*>(user);
    std::string text = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error: "
                                                                                 : "warning: ";
    text += data && data->pMessage ? data->pMessage : "(no message)";
    log::warn("vulkan validation {}", text);
    std::lock_guard lock(log->mutex);
    log->messages.push_back(std::move(text));
    return VK_FALSE;
}

bool envFlag(const char* name) {
    const char* v = std::getenv(name);
    return v && (std::string_view(v) == "1" || std::string_view(v) == "true");
}

bool hasLayer(const char* name) {
    std::uint32_t count = 0;
    vkEnumerateInstanceLayerProperties(&count, nullptr);
    std::vector<VkLayerProperties> layers(count);
    vkEnumerateInstanceLayerProperties(&count, layers.data());
    return std::any_of(layers.begin(), layers.end(),
                       [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, name) == 0; });
}

std::vector<std::string> instanceExtensionNames() {
    std::uint32_t count = 0;
    vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> props(count);
    vkEnumerateInstanceExtensionProperties(nullptr, &count, props.data());
    std::vector<std::string> names;
    for (const auto& p : props) names.emplace_back(p.extensionName);
    return names;
}

bool deviceHasExtension(VkPhysicalDevice device, const char* name) {
    std::uint32_t count = 0;
    vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> props(count);
    vkEnumerateDeviceExtensionProperties(device, nullptr, &count, props.data());
    return std::any_of(props.begin(), props.end(), [&](const VkExtensionProperties& p) {
        return std::strcmp(p.extensionName, name) == 0;
    });
}

std::optional<std::uint32_t> graphicsQueueFamily(VkPhysicalDevice device) {
    std::uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
    for (std::uint32_t i = 0; i < count; ++i)
        if (families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) return i;
    return std::nullopt;
}

int deviceTypeRank(VkPhysicalDeviceType type) {
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

std::string versionString(std::uint32_t v) {
    return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
           "." + std::to_string(VK_API_VERSION_PATCH(v));
}

} // namespace

Result<std::unique_ptr<Context>> Context::create(const ContextOptions& options) {
    std::unique_ptr<Context> ctx(new Context());
    ctx->log_ = std::make_unique<ValidationLog>();
    ctx->validation_ = options.validation || envFlag("PRECIS_VK_VALIDATION");
    ctx->presentation_ = options.presentation;

    std::uint32_t loaderVersion = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion(&loaderVersion) != VK_SUCCESS || loaderVersion < VK_API_VERSION_1_2)
        return fail(ErrorCode::DeviceError,
                    "the Vulkan loader is older than 1.2; update libvulkan1 / the GPU driver",
                    versionString(loaderVersion));

    // --- instance ------------------------------------------------------------------------------
    const auto available = instanceExtensionNames();
    auto isAvailable = [&](std::string_view n) {
        return std::find(available.begin(), available.end(), n) != available.end();
    };
    std::vector<std::string> extensions = options.instanceExtensions;
    for (const auto& e : extensions)
        if (!isAvailable(e))
            return fail(ErrorCode::DeviceError,
                        "the Vulkan driver lacks instance extension " + e +
                            " needed for a window; run headless commands or install a driver "
                            "with window-system support",
                        e);
    std::vector<const char*> layers;
    if (ctx->validation_) {
        if (!hasLayer(kValidationLayer))
            return fail(ErrorCode::DeviceError,
                        "Vulkan validation was requested but VK_LAYER_KHRONOS_validation is not "
                        "installed; install vulkan-validationlayers or unset PRECIS_VK_VALIDATION",
                        kValidationLayer);
        if (!isAvailable(VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
            return fail(ErrorCode::DeviceError, "Vulkan validation needs VK_EXT_debug_utils",
                        VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
        layers.push_back(kValidationLayer);
        extensions.emplace_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    }
    VkInstanceCreateFlags instanceFlags = 0;
    if (isAvailable(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        // Lets MoltenVK-style portability drivers enumerate; harmless elsewhere.
        extensions.emplace_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
        instanceFlags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    std::sort(extensions.begin(), extensions.end());
    extensions.erase(std::unique(extensions.begin(), extensions.end()), extensions.end());
    std::vector<const char*> extensionPtrs;
    for (const auto& e : extensions) extensionPtrs.push_back(e.c_str());

    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "Precis";
    app.applicationVersion = VK_MAKE_API_VERSION(0, 0, 1, 0);
    app.pEngineName = "Precis";
    app.engineVersion = VK_MAKE_API_VERSION(0, 0, 1, 0);
    app.apiVersion = VK_API_VERSION_1_2;

    VkDebugUtilsMessengerCreateInfoEXT messengerInfo{
        VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    messengerInfo.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                                    VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    messengerInfo.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                                VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    messengerInfo.pfnUserCallback = onDebugMessage;
    messengerInfo.pUserData = ctx->log_.get();

    VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ici.pNext = ctx->validation_ ? &messengerInfo : nullptr; // also covers create/destroy
    ici.flags = instanceFlags;
    ici.pApplicationInfo = &app;
    ici.enabledLayerCount = static_cast<std::uint32_t>(layers.size());
    ici.ppEnabledLayerNames = layers.data();
    ici.enabledExtensionCount = static_cast<std::uint32_t>(extensionPtrs.size());
    ici.ppEnabledExtensionNames = extensionPtrs.data();
    if (VkResult r = vkCreateInstance(&ici, nullptr, &ctx->instance_); r != VK_SUCCESS)
        return fail(ErrorCode::DeviceError,
                    "no Vulkan driver could be started; install mesa-vulkan-drivers (CPU "
                    "rendering) or your GPU's Vulkan driver",
                    std::string("vkCreateInstance: ") + std::string(detail::vkResultName(r)));

    if (ctx->validation_) {
        auto createMessenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(ctx->instance_, "vkCreateDebugUtilsMessengerEXT"));
        if (!createMessenger)
            return fail(ErrorCode::DeviceError, "Vulkan validation messenger unavailable");
        PRECIS_VK_TRY(createMessenger(ctx->instance_, &messengerInfo, nullptr, &ctx->messenger_),
                      "creating the validation messenger");
    }

    // --- physical device ------------------------------------------------------------------------
    std::uint32_t count = 0;
    vkEnumeratePhysicalDevices(ctx->instance_, &count, nullptr);
    std::vector<VkPhysicalDevice> devices(count);
    vkEnumeratePhysicalDevices(ctx->instance_, &count, devices.data());
    const char* wanted = std::getenv("PRECIS_VK_DEVICE");
    int bestRank = -1;
    std::string rejected;
    for (VkPhysicalDevice d : devices) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(d, &p);
        std::string why;
        if (p.apiVersion < VK_API_VERSION_1_2) why = "Vulkan " + versionString(p.apiVersion) + " < 1.2";
        else if (!graphicsQueueFamily(d)) why = "no graphics queue";
        else if (options.presentation && !deviceHasExtension(d, VK_KHR_SWAPCHAIN_EXTENSION_NAME))
            why = "no swapchain support";
        else if (wanted && *wanted && std::string_view(p.deviceName).find(wanted) == std::string_view::npos)
            why = "not matching PRECIS_VK_DEVICE";
        if (!why.empty()) {
            rejected += std::string(rejected.empty() ? "" : "; ") + p.deviceName + ": " + why;
            continue;
        }
        int rank = deviceTypeRank(p.deviceType);
        if (rank > bestRank) {
            bestRank = rank;
            ctx->physical_ = d;
        }
    }
    if (!ctx->physical_)
        return fail(ErrorCode::DeviceError,
                    devices.empty() ? "no Vulkan device found; install mesa-vulkan-drivers (CPU "
                                      "rendering) or your GPU's Vulkan driver"
                                    : "no usable Vulkan 1.2 device found; install "
                                      "mesa-vulkan-drivers or update the GPU driver",
                    rejected);
    vkGetPhysicalDeviceProperties(ctx->physical_, &ctx->properties_);
    vkGetPhysicalDeviceMemoryProperties(ctx->physical_, &ctx->memory_);
    ctx->queueFamily_ = *graphicsQueueFamily(ctx->physical_);

    const VkSampleCountFlags sampleCounts = ctx->properties_.limits.framebufferColorSampleCounts &
                                            ctx->properties_.limits.framebufferDepthSampleCounts;
    ctx->msaaSamples_ = (sampleCounts & VK_SAMPLE_COUNT_4_BIT) ? VK_SAMPLE_COUNT_4_BIT
                                                               : VK_SAMPLE_COUNT_1_BIT;
    ctx->depthFormat_ = VK_FORMAT_UNDEFINED;
    for (VkFormat f : {VK_FORMAT_D32_SFLOAT, VK_FORMAT_D24_UNORM_S8_UINT, VK_FORMAT_D16_UNORM}) {
        VkFormatProperties fp;
        vkGetPhysicalDeviceFormatProperties(ctx->physical_, f, &fp);
        if (fp.optimalTilingFeatures & VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT) {
            ctx->depthFormat_ = f;
            break;
        }
    }
    if (ctx->depthFormat_ == VK_FORMAT_UNDEFINED)
        return fail(ErrorCode::DeviceError, "the Vulkan device supports no depth buffer format");

    // --- logical device ----------------------------------------------------------------------
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = ctx->queueFamily_;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    std::vector<const char*> deviceExtensions;
    if (options.presentation) deviceExtensions.push_back(VK_KHR_SWAPCHAIN_EXTENSION_NAME);
    if (deviceHasExtension(ctx->physical_, "VK_KHR_portability_subset"))
        deviceExtensions.push_back("VK_KHR_portability_subset");
    // Independent blending lets the translucent pass (weighted blended OIT) blend its two
    // targets differently; nearly every desktop device (lavapipe included) has it.
    VkPhysicalDeviceFeatures supported{};
    vkGetPhysicalDeviceFeatures(ctx->physical_, &supported);
    VkPhysicalDeviceFeatures enabled{};
    enabled.independentBlend = supported.independentBlend;
    ctx->independentBlend_ = supported.independentBlend == VK_TRUE;
    // Clip distances cut meshes at the 3D view's clipping plane and box.
    enabled.shaderClipDistance = supported.shaderClipDistance;
    ctx->clipDistance_ = supported.shaderClipDistance == VK_TRUE;
    VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.pEnabledFeatures = &enabled;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    dci.enabledExtensionCount = static_cast<std::uint32_t>(deviceExtensions.size());
    dci.ppEnabledExtensionNames = deviceExtensions.data();
    PRECIS_VK_TRY(vkCreateDevice(ctx->physical_, &dci, nullptr, &ctx->device_),
                  "creating the Vulkan device");
    vkGetDeviceQueue(ctx->device_, ctx->queueFamily_, 0, &ctx->queue_);

    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
    pci.queueFamilyIndex = ctx->queueFamily_;
    PRECIS_VK_TRY(vkCreateCommandPool(ctx->device_, &pci, nullptr, &ctx->immediatePool_),
                  "creating a command pool");
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    PRECIS_VK_TRY(vkCreateFence(ctx->device_, &fci, nullptr, &ctx->immediateFence_),
                  "creating a fence");

    log::debug("vulkan: {} (Vulkan {}), {}x MSAA, validation {}", ctx->deviceName(),
               ctx->deviceApiVersion(), static_cast<int>(ctx->msaaSamples_),
               ctx->validation_ ? "on" : "off");
    return ctx;
}

Context::~Context() {
    if (device_) {
        vkDeviceWaitIdle(device_);
        for (auto& p : pending_) p.destroy();
        pending_.clear();
        if (immediateFence_) vkDestroyFence(device_, immediateFence_, nullptr);
        if (immediatePool_) vkDestroyCommandPool(device_, immediatePool_, nullptr);
        vkDestroyDevice(device_, nullptr);
    }
    if (messenger_) {
        auto destroyMessenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
        if (destroyMessenger) destroyMessenger(instance_, messenger_, nullptr);
    }
    if (instance_) vkDestroyInstance(instance_, nullptr);
}

std::string Context::deviceName() const { return properties_.deviceName; }

std::string Context::deviceApiVersion() const { return versionString(properties_.apiVersion); }

std::size_t Context::validationMessageCount() const {
    std::lock_guard lock(log_->mutex);
    return log_->messages.size();
}

std::vector<std::string> Context::validationMessages() const {
    std::lock_guard lock(log_->mutex);
    return log_->messages;
}

void Context::clearValidationMessages() {
    std::lock_guard lock(log_->mutex);
    log_->messages.clear();
}

std::optional<std::uint32_t> Context::findMemoryType(std::uint32_t typeBits,
                                                     VkMemoryPropertyFlags flags) const {
    for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i)
        if ((typeBits & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & flags) == flags)
            return i;
    return std::nullopt;
}

Result<void> Context::submitImmediate(const std::function<void(VkCommandBuffer)>& record) {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = immediatePool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkAllocateCommandBuffers(device_, &ai, &cmd), "allocating a command buffer");
    struct FreeCmd {
        Context* c;
        VkCommandBuffer b;
        ~FreeCmd() { vkFreeCommandBuffers(c->device_, c->immediatePool_, 1, &b); }
    } freeCmd{this, cmd};

    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    PRECIS_VK_TRY(vkBeginCommandBuffer(cmd, &bi), "recording commands");
    record(cmd);
    PRECIS_VK_TRY(vkEndCommandBuffer(cmd), "recording commands");

    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    PRECIS_VK_TRY(vkResetFences(device_, 1, &immediateFence_), "resetting a fence");
    const std::uint64_t serial = nextSubmissionSerial();
    PRECIS_VK_TRY(vkQueueSubmit(queue_, 1, &si, immediateFence_), "submitting GPU work");
    PRECIS_VK_TRY(vkWaitForFences(device_, 1, &immediateFence_, VK_TRUE, UINT64_MAX),
                  "waiting for the GPU");
    // Immediate work is rare (uploads, offscreen frames): draining the queue makes every earlier
    // submission complete too, so deferred destructions can run.
    PRECIS_VK_TRY(vkQueueWaitIdle(queue_), "waiting for the GPU");
    markCompleted(serial);
    return {};
}

Result<void> Context::waitIdle() {
    PRECIS_VK_TRY(vkDeviceWaitIdle(device_), "waiting for the GPU");
    markCompleted(submittedSerial_);
    return {};
}

void Context::markCompleted(std::uint64_t serial) {
    completedSerial_ = std::max(completedSerial_, serial);
    while (!pending_.empty() && pending_.front().serial <= completedSerial_) {
        pending_.front().destroy();
        pending_.pop_front();
    }
}

void Context::deferDestroy(std::function<void()> destroy) {
    if (submittedSerial_ <= completedSerial_) {
        destroy(); // nothing in flight can use it
        return;
    }
    pending_.push_back({submittedSerial_, std::move(destroy)});
}

} // namespace precis::render
