#pragma once
// How a vision encoder turns an image into tokens. An image is resized as the encoder's
// preprocessor does, cut into patch_size x patch_size patches (one encoder token each, plus
// class tokens per encoder sequence), and every `merge` neighbouring patches become one LLM token
// after the projector (pixel shuffle in InternVL, the 2x2 merger in Qwen2-VL; 1 in LLaVA). Each
// encoder sequence attends bidirectionally within itself only: a whole image (fixed, native) or
// one tile (tiles).
#include <cstdint>
#include <string>
#include <vector>

namespace flexcp::sched {

enum class ResizePolicy : std::uint8_t {
  fixed,   // resize to image_size x image_size (CLIP ViT-L/14-336 in LLaVA-1.5: 576 patches)
  tiles,   // InternVL dynamic tiling: the grid of image_size tiles (1..max_tiles) whose aspect ratio
           // is closest to the image's, plus a thumbnail tile when the grid has more than one
  native,  // Qwen2-VL: native resolution, sides rounded to patch_size * sqrt(merge), pixels kept
           // within [min_pixels, max_pixels] by scaling with the aspect ratio kept
};
const char* to_string(ResizePolicy policy);

struct ImagePolicy {
  int patch_size = 14;
  ResizePolicy resize = ResizePolicy::fixed;
  int image_size = 336;             // fixed: the square side; tiles: the tile side
  int max_tiles = 12;               // tiles
  std::int64_t min_pixels = 3136;   // native (Qwen2-VL's defaults: 4 and 16384 merged tokens)
  std::int64_t max_pixels = 12845056;
  int merge = 1;                    // patches per LLM token: 1, or a square (4: 2x2)
  int class_tokens = 0;             // per encoder sequence, dropped before the projector
};

struct ImageSize {
  std::int64_t width = 0, height = 0;
};

// One image as the encoder and the LLM see it. The LLM tokens of sequence s follow those of
// sequence s - 1; each sequence holds `patches / merge` of them.
struct EncodedImage {
  std::vector<std::int64_t> sequence_patches;  // encoder tokens of each sequence, class tokens included
  std::vector<std::int64_t> sequence_llm_tokens;
  std::int64_t llm_tokens() const;
  std::int64_t patches() const;
};

// Why the policy cannot tokenize images ("" when it can): patch size 0, an image size that is
// not a multiple of the patch size, a merge that is not a square or does not divide the patch grid.
std::string image_policy_problem(const ImagePolicy& policy);

// Throws ConfigError when the policy is unusable or the image has no pixels.
EncodedImage encode_image(ImageSize size, const ImagePolicy& policy);

}  // namespace flexcp::sched
