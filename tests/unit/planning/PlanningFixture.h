#pragma once
// One phantom and its safety scene for every planning test (built once: a few seconds).
#include "model/Device.h"
#include "model/Plan.h"
#include "phantom/LumbarModel.h"
#include "phantom/LumbarPhantom.h"
#include "planning/SafetyScene.h"

namespace precis::test {

struct PlanningWorld {
    phantom::Phantom phantom;
    phantom::LumbarModel model;
    planning::SafetyScene scene;
    std::vector<model::PlanLandmark> landmarks;
};

/// Built on first use; asserts (fails the test) when the phantom or scene cannot be built.
const PlanningWorld& planningWorld();

/// Devices with true dimensions for tests (independent of assets/devices.json).
model::Device testNeedle(double outerDiameterMm = 1.27, double usableLengthMm = 150.0);
model::DeviceCatalog testCatalog();

} // namespace precis::test
