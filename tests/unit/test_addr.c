/* Unit tests for protocol/addr.c: HOST:PORT parsing and formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "addr.h"

static struct hls_hostport parse_ok(const char *s, bool names, bool zero_port) {
  struct hls_hostport hp;
  struct hls_why why = {{0}};
  int rc = hls_hostport_parse(s, &hp, names, zero_port, &why);
  if (rc != 0) fail_msg("\"%s\": %s (%s)", s, hls_err_name(rc), why.text);
  return hp;
}

static void expect_refused(const char *s, bool names, bool zero_port, const char *why_part) {
  struct hls_hostport hp;
  struct hls_why why = {{0}};
  int rc = hls_hostport_parse(s, &hp, names, zero_port, &why);
  if (rc != HLS_EINVAL) fail_msg("\"%s\": got %s, want invalid_argument", s, hls_err_name(rc));
  if (why_part != NULL && strstr(why.text, why_part) == NULL)
    fail_msg("\"%s\": detail \"%s\" lacks \"%s\"", s, why.text, why_part);
}

static void test_ipv4(void **state) {
  (void)state;
  struct hls_hostport hp = parse_ok("192.0.2.7:7420", false, false);
  assert_string_equal(hp.host, "192.0.2.7");
  assert_int_equal(hp.port, 7420);
  assert_false(hp.is_ipv6);
  assert_false(hp.is_name);
  hp = parse_ok("0.0.0.0:1", false, false);
  assert_int_equal(hp.port, 1);
  hp = parse_ok("255.255.255.255:65535", false, false);
  assert_int_equal(hp.port, 65535);
  expect_refused("192.0.2.256:7420", false, false, NULL);
  expect_refused("192.0.2:7420", false, false, NULL);
  expect_refused("192.0.2.7", false, false, "HOST:PORT");
}

static void test_ipv6_in_brackets(void **state) {
  (void)state;
  struct hls_hostport hp = parse_ok("[::1]:7420", false, false);
  assert_string_equal(hp.host, "::1");
  assert_int_equal(hp.port, 7420);
  assert_true(hp.is_ipv6);
  assert_false(hp.is_name);
  hp = parse_ok("[2001:db8::42:1]:443", false, false);
  assert_string_equal(hp.host, "2001:db8::42:1");
  hp = parse_ok("[::ffff:192.0.2.1]:80", true, false);
  assert_true(hp.is_ipv6);
  hp = parse_ok("[::]:0", false, true);
  assert_int_equal(hp.port, 0);
  expect_refused("[::1]", false, false, "[IPV6]:PORT");
  expect_refused("[::1]7420", false, false, "[IPV6]:PORT");
  expect_refused("[::1:7420", false, false, "[IPV6]:PORT");
  expect_refused("[]:7420", false, false, NULL);
  expect_refused("[::1]:", false, false, "port");
  expect_refused("[192.0.2.1]:80", true, false, "IPv6");
  expect_refused("[example.org]:80", true, false, "IPv6");
  expect_refused("[::g]:80", false, false, "IPv6");
  expect_refused("[::1]]:80", false, false, NULL);
}

static void test_unbracketed_ipv6_refused(void **state) {
  (void)state;
  expect_refused("::1:7420", false, false, "brackets");
  expect_refused("2001:db8::1:443", true, false, "brackets");
  expect_refused("fe80::1", true, false, NULL);
}

static void test_names(void **state) {
  (void)state;
  struct hls_hostport hp = parse_ok("example.org:7420", true, false);
  assert_string_equal(hp.host, "example.org");
  assert_true(hp.is_name);
  assert_false(hp.is_ipv6);
  hp = parse_ok("localhost:1", true, false);
  assert_true(hp.is_name);
  hp = parse_ok("a-b.c0.EXAMPLE:9", true, false);
  assert_string_equal(hp.host, "a-b.c0.EXAMPLE");
  /* Literals are not names even when names are allowed. */
  hp = parse_ok("192.0.2.7:80", true, false);
  assert_false(hp.is_name);
  /* Names refused when not allowed. */
  expect_refused("example.org:7420", false, false, "IP address");
  expect_refused("localhost:80", false, false, NULL);
  /* Bad names. */
  const char *bad[] = {"-a.org:1", "a-.org:1", "a..org:1", ".a.org:1", "a_b.org:1",
                       "a b.org:1", "caf\xc3\xa9.org:1", "a.-b.org:1", "a.b-.org:1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_refused(bad[i], true, false, NULL);
  /* A 63-byte label is fine, 64 is not. */
  char host[300];
  memset(host, 'l', 63);
  memcpy(host + 63, ".org:1", 7);
  hp = parse_ok(host, true, false);
  assert_int_equal(strlen(hp.host), 67);
  memset(host, 'l', 64);
  memcpy(host + 64, ".org:1", 7);
  expect_refused(host, true, false, NULL);
}

static void test_name_length(void **state) {
  (void)state;
  /* 253 bytes: four labels of 63 with dots, minus one. */
  char host[400];
  size_t n = 0;
  for (int i = 0; i < 4; i++) {
    if (i > 0) host[n++] = '.';
    memset(host + n, (char)('a' + i), 63);
    n += 63;
  }
  n -= 2; /* 4*63 + 3 = 255 -> 253 */
  assert_int_equal(n, HLS_HOST_MAX);
  memcpy(host + n, ":7420", 6);
  struct hls_hostport hp = parse_ok(host, true, false);
  assert_int_equal(strlen(hp.host), HLS_HOST_MAX);
  /* One byte more. */
  host[n] = 'x';
  memcpy(host + n + 1, ":7420", 6);
  expect_refused(host, true, false, "host");
  /* Very long bracketed host. */
  host[0] = '[';
  memset(host + 1, '1', 300);
  memcpy(host + 301, "]:80", 5);
  expect_refused(host, true, false, "host");
}

static void test_ports(void **state) {
  (void)state;
  const char *bad[] = {"1.2.3.4:",        "1.2.3.4:65536", "1.2.3.4:99999999999999999999", "1.2.3.4:-1",
                       "1.2.3.4:+80",     "1.2.3.4: 80",   "1.2.3.4:80 ",   "1.2.3.4:80a", "1.2.3.4:0x50",
                       "1.2.3.4:8.0",     "1.2.3.4:http",  "[::1]:-1",      "[::1]:65536"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_refused(bad[i], true, false, "port");
    expect_refused(bad[i], true, true, "port");
  }
  /* Port 0 only when allowed. */
  expect_refused("1.2.3.4:0", false, false, "1-65535");
  expect_refused("[::1]:0", false, false, "1-65535");
  expect_refused("example.org:0", true, false, "1-65535");
  struct hls_hostport hp = parse_ok("1.2.3.4:0", false, true);
  assert_int_equal(hp.port, 0);
  hp = parse_ok("1.2.3.4:00080", false, false);
  assert_int_equal(hp.port, 80);
}

static void test_empty_and_null(void **state) {
  (void)state;
  struct hls_hostport hp;
  assert_int_equal(hls_hostport_parse(NULL, &hp, true, true, NULL), HLS_EINVAL);
  expect_refused("", true, true, "empty");
  expect_refused(":80", true, true, "host");
  expect_refused("80", true, true, NULL);
}

static void test_format_round_trip(void **state) {
  (void)state;
  const char *inputs[] = {"192.0.2.7:7420", "[::1]:7420", "[2001:db8::1]:1", "example.org:65535", "0.0.0.0:0"};
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    struct hls_hostport hp = parse_ok(inputs[i], true, true), again;
    char text[HLS_HOSTPORT_MAX + 3];
    hls_hostport_format(&hp, text);
    assert_string_equal(text, inputs[i]);
    again = parse_ok(text, true, true);
    assert_string_equal(again.host, hp.host);
    assert_int_equal(again.port, hp.port);
    assert_int_equal(again.is_ipv6, hp.is_ipv6);
    assert_int_equal(again.is_name, hp.is_name);
  }
  /* The longest name fits the output buffer. */
  struct hls_hostport hp;
  memset(&hp, 0, sizeof hp);
  memset(hp.host, 'h', HLS_HOST_MAX);
  hp.port = 65535;
  char text[HLS_HOSTPORT_MAX + 3];
  hls_hostport_format(&hp, text);
  assert_int_equal(strlen(text), HLS_HOST_MAX + 6);
  hp.is_ipv6 = true;
  hls_hostport_format(&hp, text);
  assert_int_equal(strlen(text), HLS_HOST_MAX + 8);
  assert_int_equal(text[0], '[');
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ipv4),
      cmocka_unit_test(test_ipv6_in_brackets),
      cmocka_unit_test(test_unbracketed_ipv6_refused),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_name_length),
      cmocka_unit_test(test_ports),
      cmocka_unit_test(test_empty_and_null),
      cmocka_unit_test(test_format_round_trip),
  };
  return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
