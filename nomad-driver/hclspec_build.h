// The hclspec Spec of a table of attributes (ConfigSchema, TaskConfigSchema).
#pragma once

#include <vector>

#include "nomad-driver/config_schema.h"
#include "plugins/shared/hclspec/hcl_spec.pb.h"

namespace stockade::nomad {

// Object{attributes}: each attribute an Attr{name, type, required}, wrapped in
// Default{primary, default} when it has a default.
hashicorp::nomad::plugins::shared::hclspec::Spec BuildHclSpec(const std::vector<AttrSpec>& attrs);

}  // namespace stockade::nomad
