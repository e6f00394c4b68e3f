#include "ingest/multipart.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace wangge::ingest {
namespace {

using namespace std::string_literals;

constexpr std::string_view kType = "multipart/form-data; boundary=XyZ42";

// One part with a Content-Disposition for `name`, `extra` header lines (each ending in
// CRLF), the empty line and `value`; the delimiter's CRLF is not included.
std::string Part(const std::string& name, const std::string& value, const std::string& extra = {}) {
  return "--XyZ42\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n" + extra + "\r\n" +
         value + "\r\n";
}

constexpr std::string_view kClose = "--XyZ42--\r\n";

// True when `view` lies inside `outer`.
bool Within(std::string_view view, std::string_view outer) {
  return view.data() >= outer.data() && view.data() + view.size() <= outer.data() + outer.size();
}

TEST(MultipartTest, ParsesFieldsAndABinaryFilePartInOrder) {
  // CR and LF alone and together, NULs, and near misses of the delimiter "\r\n--XyZ42":
  // a prefix of the boundary, the boundary mid-line, one dash, no CR.
  const std::string binary =
      "\x89PNG\r\n\x1a\n\0\0\r\r\n\n\r\n--XyZ4\r\n--XyZ\r\n-XyZ42 x--XyZ42\n--XyZ42\r\n--"s +
      "\xff\xfe\r\n";
  const std::string body = Part("title", "Pothole on Elm St") + Part("severity", "3") +
                           "--XyZ42\r\nContent-Disposition: form-data; name=\"photo\"; "
                           "filename=\"hole.png\"\r\nContent-Type: image/png\r\n\r\n" +
                           binary + "\r\n" + std::string(kClose);
  auto parts = ParseMultipart(kType, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].name, "title");
  EXPECT_EQ((*parts)[0].body, "Pothole on Elm St");
  EXPECT_EQ((*parts)[0].filename, "");
  EXPECT_EQ((*parts)[0].content_type, "");
  EXPECT_EQ((*parts)[1].name, "severity");
  EXPECT_EQ((*parts)[1].body, "3");
  EXPECT_EQ((*parts)[2].name, "photo");
  EXPECT_EQ((*parts)[2].filename, "hole.png");
  EXPECT_EQ((*parts)[2].content_type, "image/png");
  EXPECT_EQ((*parts)[2].body.size(), binary.size());
  EXPECT_EQ((*parts)[2].body, binary);
  for (const FormPart& p : *parts) EXPECT_TRUE(Within(p.body, body)) << p.name;
}

TEST(MultipartTest, BoundaryMayBeQuotedWithCharactersTokensCannotHold) {
  const std::string boundary = "a b:c=d?(e),f/g'h+_.";
  const std::string body = "--" + boundary +
                           "\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--" + boundary +
                           "--";
  auto boundary_of = MultipartBoundary("multipart/form-data; boundary=\"" + boundary + "\"");
  ASSERT_TRUE(boundary_of.ok()) << boundary_of.status().ToString();
  EXPECT_EQ(*boundary_of, boundary);
  auto parts = ParseMultipart("multipart/form-data; boundary=\"" + boundary + "\"", body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].body, "1");
}

TEST(MultipartTest, BoundaryTokenQuotedOrEscapedReadsTheSame) {
  for (std::string_view type :
       {"multipart/form-data; boundary=XyZ42", "multipart/form-data;boundary=\"XyZ42\"",
        "multipart/form-data; boundary=\"X\\yZ42\"", "multipart/form-data ; boundary=XyZ42 ",
        "Multipart/Form-Data; charset=utf-8; BOUNDARY=XyZ42"}) {
    SCOPED_TRACE(type);
    auto b = MultipartBoundary(type);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(*b, "XyZ42");
    const std::string body = Part("a", "1") + std::string(kClose);
    auto parts = ParseMultipart(type, body);  // parts view into body
    ASSERT_TRUE(parts.ok()) << parts.status().ToString();
    EXPECT_EQ((*parts)[0].body, "1");
  }
}

TEST(MultipartTest, BoundaryOfSeventyCharactersIsTheLongest) {
  const std::string b70(70, 'b');
  const std::string body =
      "--" + b70 + "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" + b70 + "--";
  auto parts = ParseMultipart("multipart/form-data; boundary=" + b70, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ((*parts)[0].body, "v");
  auto b71 = MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'b'));
  ASSERT_FALSE(b71.ok());
  EXPECT_EQ(b71.status().message(), "Content-Type boundary must be 1-70 characters, not 71");
}

TEST(MultipartTest, PartHeaderNamesAndValuesAreCaseInsensitive) {
  const std::string body =
      "--XyZ42\r\ncontent-DISPOSITION: FORM-DATA; NAME=note; FileName=\"n.txt\"\r\n"
      "CONTENT-TYPE:text/plain; charset=utf-8  \r\ncontent-transfer-encoding: BINARY\r\n"
      "X-Unknown: ignored\r\n\r\nhi\r\n" +
      std::string(kClose);
  auto parts = ParseMultipart(kType, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].name, "note");
  EXPECT_EQ((*parts)[0].filename, "n.txt");
  EXPECT_EQ((*parts)[0].content_type, "text/plain; charset=utf-8");
  EXPECT_EQ((*parts)[0].body, "hi");
}

TEST(MultipartTest, DispositionParametersMayBeTokensOrQuotedWithEscapes) {
  const std::string body =
      "--XyZ42\r\nContent-Disposition: form-data;name=a.b;filename=\"say \\\"hi\\\" \\\\ "
      "x;y=z.txt\";filename*=UTF-8''ignored\r\n\r\nv\r\n" +
      std::string(kClose);
  auto parts = ParseMultipart(kType, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ((*parts)[0].name, "a.b");
  EXPECT_EQ((*parts)[0].filename, "say \"hi\" \\ x;y=z.txt");
}

TEST(MultipartTest, PreambleEpilogueAndPaddingAreIgnored) {
  // The preamble holds near misses of the boundary; the epilogue holds a boundary line.
  const std::string body = "preamble --XyZ42 mid-line\r\n--XyZ4 prefix\r\n" + Part("a", "1") +
                           "--XyZ42 \t\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n"
                           "--XyZ42-- \t\r\nepilogue\r\n--XyZ42\r\ngarbage";
  auto parts = ParseMultipart(kType, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "a");
  EXPECT_EQ((*parts)[0].body, "1");
  EXPECT_EQ((*parts)[1].name, "b");
  EXPECT_EQ((*parts)[1].body, "2");
}

TEST(MultipartTest, EmptyValuesAndHeaderOnlyPartsHaveEmptyBodies) {
  const std::string body =
      Part("empty", "") + "--XyZ42\r\nContent-Disposition: form-data; name=bare\r\n\r\n--XyZ42--";
  auto parts = ParseMultipart(kType, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].body, "");
  EXPECT_EQ((*parts)[1].name, "bare");
  EXPECT_EQ((*parts)[1].body, "");
}

TEST(MultipartTest, OnlyAClosingBoundaryIsAFormWithoutParts) {
  auto parts = ParseMultipart(kType, "--XyZ42--");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_TRUE(parts->empty());
}

TEST(MultipartTest, MaxPartsIsALimitNotAnOffByOne) {
  std::string body;
  for (int i = 0; i < 3; ++i) body += Part("f" + std::to_string(i), std::to_string(i));
  body += kClose;
  auto three = ParseMultipart(kType, body, 3);
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  EXPECT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[2].body, "2");
  auto two = ParseMultipart(kType, body, 2);
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(two.status().message(), "multipart body has more than 2 parts");
  EXPECT_EQ(two.status().field(), "body");
  EXPECT_TRUE(ParseMultipart(kType, "--XyZ42--", 0).ok());
  EXPECT_FALSE(ParseMultipart(kType, body, 0).ok());
}

TEST(MultipartTest, HeaderBlockIsLimitedTo8KiB) {
  const std::string disposition = "Content-Disposition: form-data; name=a\r\n";
  // "X: " + filler + CRLF makes the block exactly kMaxPartHeaderBytes.
  const std::string filler(kMaxPartHeaderBytes - disposition.size() - 5, 'x');
  const std::string at_limit =
      "--XyZ42\r\n" + disposition + "X: " + filler + "\r\n\r\nv\r\n" + std::string(kClose);
  auto ok = ParseMultipart(kType, at_limit);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)[0].body, "v");
  const std::string over =
      "--XyZ42\r\n" + disposition + "X: x" + filler + "\r\n\r\nv\r\n" + std::string(kClose);
  auto bad = ParseMultipart(kType, over);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "part 1 header block exceeds 8 KiB");
}

struct ErrorCase {
  std::string content_type;
  std::string body;
  std::string message;
  std::string field;
};

void ExpectError(const ErrorCase& c) {
  SCOPED_TRACE(c.message);
  auto r = ParseMultipart(c.content_type, c.body);
  ASSERT_FALSE(r.ok()) << "parsed " << r->size() << " parts";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), c.message);
  EXPECT_EQ(r.status().field(), c.field);
}

TEST(MultipartTest, ContentTypeErrorsNameTheProblem) {
  const std::string body = Part("a", "1") + std::string(kClose);
  const std::string type_field = "Content-Type";
  const std::vector<ErrorCase> cases = {
      {"text/plain", body, "Content-Type must be multipart/form-data, not 'text/plain'",
       type_field},
      {"multipart/mixed; boundary=XyZ42", body,
       "Content-Type must be multipart/form-data, not 'multipart/mixed'", type_field},
      {"", body, "Content-Type must be multipart/form-data, not ''", type_field},
      {"multipart/form-data", body, "boundary is missing from Content-Type", type_field},
      {"multipart/form-data; charset=utf-8", body, "boundary is missing from Content-Type",
       type_field},
      {"multipart/form-data; boundary=a; Boundary=b", body,
       "Content-Type has more than one boundary", type_field},
      {"multipart/form-data; boundary=", body, "Content-Type has malformed parameters", type_field},
      {"multipart/form-data; boundary=\"XyZ42", body, "Content-Type has malformed parameters",
       type_field},
      {"multipart/form-data; boundary = XyZ42", body, "Content-Type has malformed parameters",
       type_field},
      {"multipart/form-data, boundary=XyZ42", body,
       "Content-Type must be multipart/form-data, not 'multipart/form-data, boundary=XyZ42'",
       type_field},
      {"multipart/form-data; boundary=\"\"", body,
       "Content-Type boundary must be 1-70 characters, not 0", type_field},
      {"multipart/form-data; boundary=a!b", body,
       "Content-Type boundary has a character RFC 2046 forbids", type_field},
      {"multipart/form-data; boundary=\"ab \"", body,
       "Content-Type boundary must not end in a space", type_field},
  };
  for (const ErrorCase& c : cases) ExpectError(c);
}

TEST(MultipartTest, BodyErrorsNameTheProblemAndThePart) {
  const std::string t(kType);
  const std::string a = Part("a", "1");
  const std::string cd = "--XyZ42\r\nContent-Disposition: form-data; name=a\r\n";
  const std::string end = "\r\nv\r\n--XyZ42--";
  const std::vector<ErrorCase> cases = {
      {t, "", "multipart body has no opening boundary", "body"},
      {t, "just text\n--XyZ42\n", "multipart body has no opening boundary", "body"},
      {t, "--XyZ42", "multipart body has no closing boundary", "body"},
      {t, "--XyZ42\r", "multipart body has no closing boundary", "body"},
      {t, a + "--XyZ42-", "multipart body has no closing boundary", "body"},
      {t, cd + "\r\ntruncated upl", "multipart body has no closing boundary", "body"},
      {t, a, "multipart body has no closing boundary", "body"},
      {t, "--XyZ42\nContent-Disposition: form-data; name=a\n\nv\n--XyZ42--\n",
       "multipart boundary line ends in a bare LF; lines must end in CRLF", "body"},
      {t, a + "--XyZ42--\n", "multipart boundary line ends in a bare LF; lines must end in CRLF",
       "body"},
      {t, "--XyZ42\r\nContent-Disposition: form-data; name=a\n\nv\r\n--XyZ42--",
       "part 1 headers end in a bare LF; lines must end in CRLF", "body"},
      {t, "--XyZ42\r\nContent-Disposition: form-data; name=a\nX: y\r\n" + end,
       "part 1 header line has a bare CR or LF; lines must end in CRLF", "body"},
      {t, "--XyZ42x\r\n" + a.substr(9) + std::string(kClose),
       "the multipart boundary opening part 1 has characters after it", "body"},
      {t, a + "--XyZ42 junk\r\n" + a.substr(9) + std::string(kClose),
       "the multipart boundary opening part 2 has characters after it", "body"},
      {t, a + "--XyZ42--junk", "the closing multipart boundary has characters after it", "body"},
      {t, a + "--XyZ42\r\nContent-Type: text/plain\r\n" + end,
       "part 2 has no Content-Disposition form-data name", "body"},
      {t, a + "--XyZ42\r\nContent-Disposition: form-data; filename=\"f\"\r\n" + end,
       "part 2 has no Content-Disposition form-data name", "body"},
      {t, "--XyZ42\r\n--XyZ42--", "part 1 has no Content-Disposition form-data name", "body"},
      {t, "--XyZ42\r\n\r\nv\r\n--XyZ42--", "part 1 has no Content-Disposition form-data name",
       "body"},
      {t, "--XyZ42\r\nContent-Disposition: form-data; name=\"\"\r\n" + end,
       "part 1 has an empty form-data name", "body"},
      {t, "--XyZ42\r\nContent-Disposition: attachment; name=a\r\n" + end,
       "part 1 Content-Disposition must be form-data, not 'attachment'", "body"},
      {t, "--XyZ42\r\nContent-Disposition: form-data; name=\"a\r\n" + end,
       "part 1 Content-Disposition has malformed parameters", "body"},
      {t, "--XyZ42\r\nContent-Disposition: form-data; name=a b\r\n" + end,
       "part 1 Content-Disposition has malformed parameters", "body"},
      {t, "--XyZ42\r\nContent-Disposition: form-data; name=a; NAME=b\r\n" + end,
       "part 1 Content-Disposition repeats name", "body"},
      {t, "--XyZ42\r\nContent-Disposition: form-data; name=a; filename=x; filename=y\r\n" + end,
       "part 1 Content-Disposition repeats filename", "body"},
      {t, cd + "Content-Type: a/b\r\ncontent-type: c/d\r\n" + end,
       "part 1 repeats the Content-Type header", "body"},
      {t, cd + cd.substr(9) + end, "part 1 repeats the Content-Disposition header", "body"},
      {t, cd + "Content-Transfer-Encoding: base64\r\n" + end,
       "part 1 Content-Transfer-Encoding 'base64' is not supported; only 7bit, 8bit and binary "
       "are",
       "body"},
      {t, cd + "no colon here\r\n" + end, "part 1 header line has no colon", "body"},
      {t, cd + " folded: value\r\n" + end, "part 1 has a folded header line, which is not allowed",
       "body"},
      {t, cd + "Bad Name: x\r\n" + end, "part 1 has a malformed header name", "body"},
      {t, cd + ": x\r\n" + end, "part 1 has a malformed header name", "body"},
      {t, cd + "X-A: a\x01z\r\n" + end, "part 1 header X-A has a control byte", "body"},
      {t, "--XyZ42\r\nContent-Disposition: form-data; name=a\r\n--XyZ42--",
       "part 1 header block does not end with an empty line", "body"},
  };
  for (const ErrorCase& c : cases) ExpectError(c);
}

}  // namespace
}  // namespace wangge::ingest
