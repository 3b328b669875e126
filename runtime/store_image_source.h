// ContainerImageSource over the node's ImageStore: an image's layers and the parts of its
// config a container needs.
#pragma once

#include <memory>

#include "runtime/container_image.h"

namespace stockade {

class ImageStore;

std::unique_ptr<ContainerImageSource> NewStoreImageSource(const ImageStore& images);

}  // namespace stockade
