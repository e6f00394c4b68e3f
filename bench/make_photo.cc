// wangge-make-photo: a JPEG of noise of about --bytes bytes, for the photo benchmark.
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>
#include <vips/vips.h>

#include <CLI/CLI.hpp>

namespace {

std::string Jpeg(int side) {
  // Noise in the first band, constants in the other two: three bands, as a photo has.
  double constants[] = {128.0, 64.0};
  VipsImage *noise = nullptr, *band = nullptr, *rgb = nullptr;
  if (vips_gaussnoise(&noise, side, side, "mean", 128.0, "sigma", 30.0, nullptr) ||
      vips_cast_uchar(noise, &band, nullptr) ||
      vips_bandjoin_const(band, &rgb, constants, 2, nullptr)) {
    vips_error_exit("noise");
  }
  void* buf = nullptr;
  size_t len = 0;
  if (vips_jpegsave_buffer(rgb, &buf, &len, "Q", 85, nullptr)) vips_error_exit("jpeg");
  std::string out(static_cast<const char*>(buf), len);
  g_free(buf);
  for (VipsImage* image : {noise, band, rgb}) g_object_unref(image);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  size_t bytes = 2'000'000;
  std::string out;
  CLI::App app{"A noise JPEG of about the size asked for"};
  app.add_option("--bytes", bytes, "Target size")->capture_default_str();
  app.add_option("--out", out, "Output file")->required();
  CLI11_PARSE(app, argc, argv);
  if (VIPS_INIT(argv[0])) vips_error_exit("libvips");
  int side = 1000;
  std::string jpeg = Jpeg(side);
  for (int i = 0; i < 4; ++i) {  // size grows with the pixel count
    side = static_cast<int>(
        side * std::sqrt(static_cast<double>(bytes) / static_cast<double>(jpeg.size())));
    jpeg = Jpeg(side);
  }
  std::ofstream(out, std::ios::binary) << jpeg;
  std::cout << out << ": " << side << " x " << side << ", " << jpeg.size() << " bytes\n";
  return 0;
}
