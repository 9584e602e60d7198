#include "sched/image_tokens.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.hpp"

namespace flexcp::sched {

const char* to_string(ResizePolicy policy) {
  switch (policy) {
    case ResizePolicy::fixed: return "fixed";
    case ResizePolicy::tiles: return "tiles";
    case ResizePolicy::native: return "native";
  }
  return "?";
}

std::int64_t EncodedImage::llm_tokens() const {
  std::int64_t n = 0;
  for (auto t : sequence_llm_tokens) n += t;
  return n;
}

std::int64_t EncodedImage::patches() const {
  std::int64_t n = 0;
  for (auto t : sequence_patches) n += t;
  return n;
}

namespace {
int merge_side(int merge) {
  const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(merge))));
  return side * side == merge ? side : 0;
}

// A square or tile of `side` pixels: (side / patch)^2 patches.
EncodedImage square_sequences(std::int64_t count, int side, const ImagePolicy& p) {
  const std::int64_t grid = side / p.patch_size;
  EncodedImage out;
  for (std::int64_t i = 0; i < count; ++i) {
    out.sequence_patches.push_back(grid * grid + p.class_tokens);
    out.sequence_llm_tokens.push_back(grid * grid / p.merge);
  }
  return out;
}

// InternVL's find_closest_aspect_ratio: among grids of 1..max_tiles tiles, the one whose aspect
// ratio is closest to the image's; on a tie the larger grid when the image has the pixels for it.
std::int64_t tile_count(ImageSize s, const ImagePolicy& p) {
  const double aspect = static_cast<double>(s.width) / static_cast<double>(s.height);
  const double area = static_cast<double>(s.width) * static_cast<double>(s.height);
  double best_diff = std::numeric_limits<double>::infinity();
  std::int64_t best = 1;
  // InternVL orders candidate grids by tile count; the same order keeps its tie-breaking.
  for (int n = 1; n <= p.max_tiles; ++n)
    for (int i = 1; i <= n; ++i) {
      if (n % i != 0) continue;
      const int j = n / i;
      const double diff = std::abs(aspect - static_cast<double>(i) / j);
      const double tile_area = static_cast<double>(p.image_size) * p.image_size;
      if (diff < best_diff) {
        best_diff = diff;
        best = n;
      } else if (diff == best_diff && area > 0.5 * tile_area * n) {
        best = n;
      }
    }
  return best;
}

// Qwen2-VL's smart_resize: sides rounded to multiples of `factor`, then scaled into the pixel range.
EncodedImage native_sequence(ImageSize s, const ImagePolicy& p) {
  const double factor = static_cast<double>(p.patch_size) * merge_side(p.merge);
  auto round_to = [&](double x) { return std::max(factor, std::round(x / factor) * factor); };
  double h = round_to(static_cast<double>(s.height)), w = round_to(static_cast<double>(s.width));
  const double hw = static_cast<double>(s.height) * static_cast<double>(s.width);
  if (h * w > static_cast<double>(p.max_pixels)) {
    const double beta = std::sqrt(hw / static_cast<double>(p.max_pixels));
    h = std::max(factor, std::floor(static_cast<double>(s.height) / beta / factor) * factor);
    w = std::max(factor, std::floor(static_cast<double>(s.width) / beta / factor) * factor);
  } else if (h * w < static_cast<double>(p.min_pixels)) {
    const double beta = std::sqrt(static_cast<double>(p.min_pixels) / hw);
    h = std::ceil(static_cast<double>(s.height) * beta / factor) * factor;
    w = std::ceil(static_cast<double>(s.width) * beta / factor) * factor;
  }
  const auto patches = static_cast<std::int64_t>(h / p.patch_size) * static_cast<std::int64_t>(w / p.patch_size);
  return {{patches + p.class_tokens}, {patches / p.merge}};
}
}  // namespace

std::string image_policy_problem(const ImagePolicy& p) {
  if (p.patch_size < 1) return "patch_size is " + std::to_string(p.patch_size) + ": it must be >= 1";
  if (p.merge < 1 || merge_side(p.merge) == 0)
    return "merge is " + std::to_string(p.merge) + ": it must be a square (1, 4, 9, ...) of patches per LLM token";
  if (p.class_tokens < 0) return "class_tokens must be >= 0";
  if (p.resize == ResizePolicy::native) {
    if (p.min_pixels < 1 || p.max_pixels < p.min_pixels) return "native resizing needs 1 <= min_pixels <= max_pixels";
    return "";
  }
  if (p.image_size < p.patch_size || p.image_size % p.patch_size != 0)
    return "image_size " + std::to_string(p.image_size) + " is not a positive multiple of patch_size " +
           std::to_string(p.patch_size);
  if ((p.image_size / p.patch_size) % merge_side(p.merge) != 0)
    return "the patch grid (" + std::to_string(p.image_size / p.patch_size) + " per side) is not divisible by the merge side " +
           std::to_string(merge_side(p.merge));
  if (p.resize == ResizePolicy::tiles && p.max_tiles < 1) return "max_tiles must be >= 1";
  return "";
}

EncodedImage encode_image(ImageSize size, const ImagePolicy& p) {
  if (const auto problem = image_policy_problem(p); !problem.empty()) throw ConfigError("image policy: " + problem);
  if (size.width < 1 || size.height < 1)
    throw ConfigError("image of " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                      " pixels: an image needs a width and a height >= 1");
  switch (p.resize) {
    case ResizePolicy::fixed: return square_sequences(1, p.image_size, p);
    case ResizePolicy::tiles: {
      const auto n = tile_count(size, p);
      return square_sequences(n == 1 ? 1 : n + 1, p.image_size, p);  // + the thumbnail
    }
    case ResizePolicy::native: return native_sequence(size, p);
  }
  return {};
}

}  // namespace flexcp::sched
