#include "core/sha256.h"

#include <cstdlib>

#include <openssl/evp.h>

#include "core/bytes.h"

namespace wangge {

struct Sha256::Ctx {
  EVP_MD_CTX* md_ctx = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md_ctx); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  // Without a context nothing can be hashed; this is an allocation failure, not input.
  if (ctx_->md_ctx == nullptr) std::abort();
}

Sha256::~Sha256() = default;

Hash Sha256::Of(std::string_view a, std::string_view b) {
  streaming_ = false;
  Hash out{};
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx_->md_ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx_->md_ctx, a.data(), a.size());
  EVP_DigestUpdate(ctx_->md_ctx, b.data(), b.size());
  EVP_DigestFinal_ex(ctx_->md_ctx, out.data(), &len);
  return out;
}

void Sha256::Update(std::string_view bytes) {
  if (!streaming_) {
    EVP_DigestInit_ex(ctx_->md_ctx, EVP_sha256(), nullptr);
    streaming_ = true;
  }
  EVP_DigestUpdate(ctx_->md_ctx, bytes.data(), bytes.size());
}

Hash Sha256::Final() {
  if (!streaming_) Update({});
  Hash out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md_ctx, out.data(), &len);
  streaming_ = false;
  return out;
}

std::string HexOf(const Hash& h) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 sha;
  sha.Update(bytes);
  return HexOf(sha.Final());
}

}  // namespace wangge
