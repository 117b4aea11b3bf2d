#include "PlanningFixture.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

namespace precis::test {

const PlanningWorld& planningWorld() {
    static const std::unique_ptr<PlanningWorld> world = [] {
        auto w = std::make_unique<PlanningWorld>();
        auto ph = phantom::makeLumbarPhantom({});
        if (!ph) {
            ADD_FAILURE() << "phantom: " << ph.error().message;
            std::abort();
        }
        w->phantom = std::move(*ph);
        auto scene = planning::SafetyScene::build(w->phantom.labels, w->phantom.truth.structures);
        if (!scene) {
            ADD_FAILURE() << "scene: " << scene.error().message;
            std::abort();
        }
        w->scene = std::move(*scene);
        for (const auto& l : w->phantom.truth.landmarks) {
            w->landmarks.push_back({l.name, l.kind, l.level, l.side, l.lps});
        }
        return w;
    }();
    return *world;
}

model::Device testNeedle(double outerDiameterMm, double usableLengthMm) {
    model::Device d;
    d.id = "test-needle";
    d.name = "test needle";
    d.type = model::DeviceType::SpinalNeedle;
    d.outerDiameterMm = outerDiameterMm;
    d.usableLengthMm = usableLengthMm;
    d.source = "typical";
    return d;
}

model::DeviceCatalog testCatalog() {
    model::DeviceCatalog c;
    c.devices.push_back(testNeedle());
    model::Device rf = testNeedle(1.27, 100.0);
    rf.id = "rf-18g-10mm";
    rf.type = model::DeviceType::RfCannula;
    rf.activeTipMm = 10.0;
    rf.contacts = {{0.0, 10.0}};
    c.devices.push_back(rf);
    model::Device spinal = testNeedle(0.72, 127.0);
    spinal.id = "spinal-22g";
    c.devices.push_back(spinal);
    model::Device tuohy = testNeedle(1.27, 89.0);
    tuohy.id = "tuohy-18g";
    tuohy.type = model::DeviceType::EpiduralNeedle;
    c.devices.push_back(tuohy);
    model::Device tuohy14 = testNeedle(2.11, 127.0);
    tuohy14.id = "tuohy-14g";
    tuohy14.type = model::DeviceType::EpiduralNeedle;
    c.devices.push_back(tuohy14);
    model::Device scs = testNeedle(1.3, 600.0);
    scs.id = "scs-8c";
    scs.type = model::DeviceType::ScsLead;
    for (int i = 0; i < 8; ++i) scs.contacts.push_back({7.0 * i, 3.0});
    c.devices.push_back(scs);
    model::Device drg = testNeedle(1.0, 500.0);
    drg.id = "drg-4c";
    drg.type = model::DeviceType::DrgLead;
    for (int i = 0; i < 4; ++i) drg.contacts.push_back({5.0 * i, 1.25});
    c.devices.push_back(drg);
    return c;
}

} // namespace precis::test
