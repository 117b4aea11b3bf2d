#include "render/Context.h"

#include "support/RenderTestSupport.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace precis::render {
namespace {

TEST(Context, CreatesWithValidation) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    EXPECT_FALSE(ctx->deviceName().empty());
    EXPECT_TRUE(ctx->validationEnabled());
    EXPECT_NE(ctx->device(), VK_NULL_HANDLE);
    EXPECT_NE(ctx->queue(), VK_NULL_HANDLE);
    EXPECT_NE(ctx->depthFormat(), VK_FORMAT_UNDEFINED);
    std::printf("device: %s (Vulkan %s), %dx MSAA\n", ctx->deviceName().c_str(),
                ctx->deviceApiVersion().c_str(), static_cast<int>(ctx->msaaSamples()));
    test::expectNoValidationMessages(*ctx);
}

TEST(Context, MissingWindowExtensionIsADeviceError) {
    ContextOptions options;
    options.instanceExtensions = {"VK_PRECIS_no_such_extension"};
    auto ctx = Context::create(options);
    ASSERT_FALSE(ctx);
    EXPECT_EQ(ctx.error().code, ErrorCode::DeviceError);
    EXPECT_FALSE(ctx.error().message.empty());
}

TEST(Context, NoMatchingDeviceIsADeviceErrorWithAUserMessage) {
    ::setenv("PRECIS_VK_DEVICE", "no-such-gpu-anywhere", 1);
    auto ctx = Context::create({});
    ::unsetenv("PRECIS_VK_DEVICE");
    ASSERT_FALSE(ctx);
    EXPECT_EQ(ctx.error().code, ErrorCode::DeviceError);
    EXPECT_NE(ctx.error().message.find("mesa-vulkan-drivers"), std::string::npos) << ctx.error().message;
    EXPECT_FALSE(ctx.error().detail.empty()); // which devices were passed over, and why
}

TEST(Context, DeferredDestructionWaitsForSubmittedWork) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    int destroyed = 0;
    ctx->deferDestroy([&] { ++destroyed; }); // nothing in flight: immediate
    EXPECT_EQ(destroyed, 1);
    const auto serial = ctx->nextSubmissionSerial(); // pretend a frame is in flight
    ctx->deferDestroy([&] { ++destroyed; });
    EXPECT_EQ(destroyed, 1);
    EXPECT_EQ(ctx->pendingDestroyCount(), 1u);
    ctx->markCompleted(serial);
    EXPECT_EQ(destroyed, 2);
    test::expectNoValidationMessages(*ctx);
}

} // namespace
} // namespace precis::render
