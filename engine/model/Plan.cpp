#include "model/Plan.h"

namespace precis::model {

const Trajectory* Plan::find(const std::string& trajectoryName) const {
    for (const Trajectory& t : trajectories) {
        if (t.name == trajectoryName) return &t;
    }
    return nullptr;
}

} // namespace precis::model
