#pragma once
// Procedure templates: initial trajectories from anatomical landmarks, following
// ../shared/CLINICAL.md section 6. Each template picks its target landmark, starts from the
// textbook approach angle and then searches entries within a cone around it (TrajectorySearch),
// so the proposal is the safest path a physician would still recognise as that approach.
//
//   mbrfa  lumbar medial branch RF (parallel): target medial_branch_target; needle 20 deg
//          lateral->medial (none at L5), 40 deg caudal->cranial; rf-18g-10mm; rests on bone.
//   tfesi  transforaminal epidural: target safe_triangle_target; 25 deg ipsilateral oblique;
//          spinal-22g; tip next to the exiting root by design.
//   ilesi  interlaminar epidural, paramedian: target interlaminar_target; 10 deg medial,
//          15 deg caudal tilt; tuohy-18g; the dura lies just beyond the tip.
//   scs    spinal cord stimulator lead: introducer (tuohy-14g angle, paramedian, 30 deg caudal)
//          into the interlaminar space one level below the highest one in the image; the lead
//          (scs-8c) runs up the dorsal epidural space to the highest interlaminar target.
//   drg    DRG lead: introducer into the interlaminar space below the level, lead up the
//          epidural space and out through the foramen to drg_center (drg-4c).
// Landmarks come from the phantom's truth, or from segmented anatomy when it provides them.
#include "core/Error.h"
#include "model/Device.h"
#include "model/Plan.h"
#include "planning/Evaluation.h"
#include "planning/SafetyScene.h"

#include <string>
#include <string_view>
#include <vector>

namespace precis::planning {

/// Template ids, in the order above.
const std::vector<std::string_view>& templateNames();

struct TemplateRequest {
    std::string procedure; // one of templateNames()
    std::string level;     // "L4" (mbrfa, tfesi, drg) or "L4-L5" (ilesi; "L4" means L4-L5)
    std::string side = "left";
    std::string deviceId;  // empty: the template's default device
    double coneDeg = 15.0; // entries searched within this angle of the textbook direction
};

struct TemplateResult {
    model::Trajectory trajectory;
    TrajectoryEvaluation evaluation;
    model::PlanLandmark target; // the landmark the trajectory aims at
    glm::dvec3 textbookDirection{0.0}; // target -> entry before the search (LPS, unit)
    std::vector<std::string> notes;
};

/// Proposes one trajectory. NotFound when the landmark (procedure, level, side) is absent;
/// InvalidArgument for an unknown procedure or device.
Result<TemplateResult> proposeFromTemplate(const SafetyScene& scene,
                                           const std::vector<model::PlanLandmark>& landmarks,
                                           const TemplateRequest& request,
                                           const model::DeviceCatalog& catalog,
                                           const model::SafetySettings& settings = {});

/// Puts a proposal into a plan (CLI and GUI alike): it replaces a trajectory of the same name,
/// and its target landmark is recorded unless the plan has one of that name already.
void addToPlan(model::Plan& plan, const TemplateResult& result);

} // namespace precis::planning
