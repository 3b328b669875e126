#include "nomad-driver/hclspec_build.h"

namespace stockade::nomad {
namespace hclspec = hashicorp::nomad::plugins::shared::hclspec;

hclspec::Spec BuildHclSpec(const std::vector<AttrSpec>& attrs) {
  hclspec::Spec root;
  auto& attributes = *root.mutable_object()->mutable_attributes();
  for (const AttrSpec& a : attrs) {
    if (a.type == AttrType::kCredentialsBlock) {
      hclspec::Spec block;
      block.mutable_block_value()->set_name(a.name);
      block.mutable_block_value()->set_required(a.required);
      auto& fields =
          *block.mutable_block_value()->mutable_nested()->mutable_object()->mutable_attributes();
      for (const char* f : {"username", "password"}) {
        fields[f].mutable_attr()->set_name(f);
        fields[f].mutable_attr()->set_type("string");
      }
      attributes[a.name] = std::move(block);
      continue;
    }
    hclspec::Spec attr;
    hclspec::Attr* field = attr.mutable_attr();
    field->set_name(a.name);
    field->set_type(HclTypeExpression(a.type));
    field->set_required(a.required);
    if (a.default_hcl.empty()) {
      attributes[a.name] = std::move(attr);
      continue;
    }
    hclspec::Spec with_default;
    *with_default.mutable_default_()->mutable_primary() = std::move(attr);
    with_default.mutable_default_()->mutable_default_()->mutable_literal()->set_value(
        a.default_hcl);
    attributes[a.name] = std::move(with_default);
  }
  return root;
}

}  // namespace stockade::nomad
