#ifndef HEARTH_CMEDIASHIM_H
#define HEARTH_CMEDIASHIM_H
/* Fixed-arity wrappers for the variadic libvips calls Swift cannot make, plus the
 * libraw decode used for RAW sources. Each wrapper names the libvips call it stands for. */
#include <vips/vips.h>
#include <stddef.h>
#include <stdint.h>

/* vips_init(argv0) once per process, then vips_block_untrusted_set(TRUE) (ImageMagick and
 * friends) with jxlload re-enabled by vips_operation_block_set; returns 0 on success. */
int hearth_vips_init(void);

/* vips_concurrency_set + vips_cache_set_max + vips_cache_set_max_mem. */
void hearth_vips_configure(int concurrency, int cache_max);

/* Copies vips_error_buffer() into a g_malloc'd string (caller g_free) and clears it. */
char *hearth_vips_take_error(void);

/* vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL): header only, lazy. */
VipsImage *hearth_vips_open_sequential(const char *path);

/* Reads a string field (e.g. "vips-loader") into dst; returns 0 when present. */
int hearth_vips_get_string(VipsImage *image, const char *field, char *dst, size_t dst_len);

/* vips_thumbnail(path, &out, width, "height", height, "size", VIPS_SIZE_DOWN, "fail_on", fail_on, NULL). */
int hearth_vips_thumbnail(const char *path, VipsImage **out, int width, int height, int fail_on);

/* vips_thumbnail_buffer(buf, len, &out, width, "height", height, "size", VIPS_SIZE_DOWN, "fail_on", fail_on, NULL). */
int hearth_vips_thumbnail_buffer(const void *buf, size_t len, VipsImage **out, int width, int height, int fail_on);

/* vips_thumbnail_image(in, &out, width, "height", height, "size", VIPS_SIZE_DOWN, NULL). */
int hearth_vips_thumbnail_image(VipsImage *in, VipsImage **out, int width, int height);

/* vips_jpegsave_buffer(in, &buf, &len, "Q", quality, "strip", TRUE, "optimize_coding", TRUE, NULL). */
int hearth_vips_jpegsave_buffer(VipsImage *in, void **buf, size_t *len, int quality);

/* vips_jpegsave_buffer(in, &buf, &len, "Q", quality, NULL), keeping metadata (for synthetic test sources). */
int hearth_vips_jpegsave_buffer_keep(VipsImage *in, void **buf, size_t *len, int quality);

/* vips_webpsave_buffer(in, &buf, &len, "Q", quality, "strip", TRUE, NULL). */
int hearth_vips_webpsave_buffer(VipsImage *in, void **buf, size_t *len, int quality);

/* vips_pngsave_buffer(in, &buf, &len, "compression", compression, NULL). */
int hearth_vips_pngsave_buffer(VipsImage *in, void **buf, size_t *len, int compression);

/* vips_tiffsave_buffer(in, &buf, &len, NULL). */
int hearth_vips_tiffsave_buffer(VipsImage *in, void **buf, size_t *len);

/* vips_gifsave_buffer(in, &buf, &len, NULL). */
int hearth_vips_gifsave_buffer(VipsImage *in, void **buf, size_t *len);

/* vips_icc_transform(in, &out, "srgb", "embedded", TRUE, NULL). */
int hearth_vips_icc_to_srgb(VipsImage *in, VipsImage **out);

/* vips_colourspace(in, &out, VIPS_INTERPRETATION_sRGB, NULL). */
int hearth_vips_colourspace_srgb(VipsImage *in, VipsImage **out);

/* vips_cast(in, &out, format, NULL). */
int hearth_vips_cast(VipsImage *in, VipsImage **out, VipsBandFormat format);

/* vips_flatten(in, &out, "background", white, NULL): white for 8-bit, scaled for 16-bit. */
int hearth_vips_flatten_white(VipsImage *in, VipsImage **out);

/* vips_rot(in, &out, angle, NULL). */
int hearth_vips_rot(VipsImage *in, VipsImage **out, VipsAngle angle);

/* vips_gaussnoise(&out, width, height, "mean", mean, "sigma", sigma, "seed", seed, NULL). */
int hearth_vips_gaussnoise(VipsImage **out, int width, int height, double mean, double sigma, int seed);

/* vips_resize(in, &out, scale, "kernel", VIPS_KERNEL_LINEAR, NULL). */
int hearth_vips_resize_linear(VipsImage *in, VipsImage **out, double scale);

/* vips_extract_area(in, &out, left, top, width, height, NULL). */
int hearth_vips_extract_area(VipsImage *in, VipsImage **out, int left, int top, int width, int height);

/* vips_add(a, b, &out, NULL). */
int hearth_vips_add(VipsImage *a, VipsImage *b, VipsImage **out);

/* vips_linear1(in, &out, a, b, NULL). */
int hearth_vips_linear1(VipsImage *in, VipsImage **out, double a, double b);

/* vips_bandjoin((VipsImage *[]){a, b, c}, &out, 3, NULL). */
int hearth_vips_bandjoin3(VipsImage *a, VipsImage *b, VipsImage *c, VipsImage **out);

/* vips_image_new_from_buffer(buf, len, "", NULL) then vips_image_copy_memory: the result
 * owns its pixels, so `buf` may be freed as soon as this returns. */
VipsImage *hearth_vips_decode_buffer(const void *buf, size_t len);

/* Per-file time limit: turns on progress for `image` and connects its "eval" signal to a
 * callback that calls vips_image_set_kill(image, TRUE) once g_get_monotonic_time()
 * passes deadline_us. Pipelines built on `image` inherit its progress signal, so a save
 * or copy that pulls pixels through it stops with an error at the next tile. */
void hearth_vips_set_deadline(VipsImage *image, int64_t deadline_us);

/* True when the deadline callback killed the evaluation of `image`. */
int hearth_vips_deadline_hit(VipsImage *image);

/* Result of hearth_raw_decode. Exactly one of jpeg / image is set on success. */
typedef struct {
    void *jpeg;          /* embedded JPEG preview (g_malloc'd; free with g_free) */
    size_t jpeg_len;
    VipsImage *image;    /* demosaiced half-size 8-bit RGB, already upright (unref when done) */
    int flip;            /* libraw flip for the JPEG preview: 0, 3 (180), 5 (90 ccw), 6 (90 cw) */
    int width, height;   /* sensor image size, upright */
    int error_code;      /* 0 ok, 1 open/unsupported, 2 too large, 3 decode failed, 4 past the deadline */
    char error[256];
} hearth_raw_result;

/* Decodes a RAW file with libraw: the embedded JPEG preview when its shorter side is at
 * least min_preview_short, else a half-size demosaic. Refuses sensors above max_pixels;
 * libraw's progress callback cancels the decode once g_get_monotonic_time() > deadline_us. */
int hearth_raw_decode(const char *path, int min_preview_short, double max_pixels, int64_t deadline_us,
                      hearth_raw_result *result);

#endif
