#include "gui/ImGuiLayer.h"

#include "core/Log.h"

#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

namespace precis::gui {

namespace {
void checkVk(VkResult r) {
    if (r != VK_SUCCESS) log::error("imgui vulkan backend: VkResult {}", static_cast<int>(r));
}
} // namespace

Result<std::unique_ptr<ImGuiLayer>> ImGuiLayer::create(render::Context& ctx, GLFWwindow* window,
                                                       const render::SwapchainTarget& swapchain) {
    std::unique_ptr<ImGuiLayer> layer(new ImGuiLayer(ctx));
    const VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 64}};
    VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pci.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
    pci.maxSets = 64;
    pci.poolSizeCount = 1;
    pci.pPoolSizes = sizes;
    if (vkCreateDescriptorPool(ctx.device(), &pci, nullptr, &layer->pool_) != VK_SUCCESS)
        return fail(ErrorCode::DeviceError, "could not create the user-interface descriptor pool");

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    layer->contextCreated_ = true;
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr; // no imgui.ini in the working directory
    ImGui::StyleColorsDark();
    ImGuiStyle& style = ImGui::GetStyle();
    style.WindowRounding = 0;
    style.FrameRounding = 3;

    if (!ImGui_ImplGlfw_InitForVulkan(window, true))
        return fail(ErrorCode::Internal, "could not start the ImGui GLFW backend");
    layer->glfwInit_ = true;

    ImGui_ImplVulkan_InitInfo info{};
    info.Instance = ctx.instance();
    info.PhysicalDevice = ctx.physicalDevice();
    info.Device = ctx.device();
    info.QueueFamily = ctx.queueFamily();
    info.Queue = ctx.queue();
    info.DescriptorPool = layer->pool_;
    info.Subpass = 0;
    info.MinImageCount = std::max(2u, swapchain.minImageCount());
    info.ImageCount = std::max(info.MinImageCount, swapchain.imageCount());
    info.MSAASamples = swapchain.samples();
    info.CheckVkResultFn = checkVk;
    if (!ImGui_ImplVulkan_Init(&info, swapchain.renderPass()))
        return fail(ErrorCode::DeviceError, "could not start the ImGui Vulkan backend");
    layer->vulkanInit_ = true;
    layer->minImageCount_ = info.MinImageCount;

    auto fonts = ctx.submitImmediate([](VkCommandBuffer cmd) { ImGui_ImplVulkan_CreateFontsTexture(cmd); });
    if (!fonts) return std::unexpected(fonts.error());
    ImGui_ImplVulkan_DestroyFontUploadObjects();
    return layer;
}

ImGuiLayer::~ImGuiLayer() {
    vkDeviceWaitIdle(ctx_->device());
    if (vulkanInit_) ImGui_ImplVulkan_Shutdown();
    if (glfwInit_) ImGui_ImplGlfw_Shutdown();
    if (contextCreated_) ImGui::DestroyContext();
    if (pool_) vkDestroyDescriptorPool(ctx_->device(), pool_, nullptr);
}

void ImGuiLayer::newFrame(const render::SwapchainTarget& swapchain) {
    const std::uint32_t want = std::max(2u, swapchain.minImageCount());
    if (want != minImageCount_) {
        ImGui_ImplVulkan_SetMinImageCount(want);
        minImageCount_ = want;
    }
    ImGui_ImplVulkan_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
}

void ImGuiLayer::record(VkCommandBuffer cmd) {
    ImDrawData* data = ImGui::GetDrawData();
    if (data) ImGui_ImplVulkan_RenderDrawData(data, cmd);
}

} // namespace precis::gui
