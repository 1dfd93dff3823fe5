#include "CMediaShim.h"
#include <libraw/libraw.h>
#include <string.h>
#include <stdio.h>

int hearth_vips_init(void) {
    if (VIPS_INIT("hearth") != 0) return -1;
    /* Files come from anywhere: keep ImageMagick, MATLAB, FITS etc. loaders (marked
     * untrusted by libvips) away from them. */
    vips_block_untrusted_set(TRUE);
    /* libvips 8.14 marks jxlload untrusted too, but photos come as JPEG XL. */
    vips_operation_block_set("VipsForeignLoadJxl", FALSE);
    return 0;
}

void hearth_vips_configure(int concurrency, int cache_max) {
    vips_concurrency_set(concurrency);
    vips_cache_set_max(cache_max);
    vips_cache_set_max_mem(cache_max == 0 ? 0 : 50 * 1024 * 1024);
}

char *hearth_vips_take_error(void) {
    char *copy = g_strdup(vips_error_buffer());
    vips_error_clear();
    return copy;
}

VipsImage *hearth_vips_open_sequential(const char *path) {
    return vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

int hearth_vips_get_string(VipsImage *image, const char *field, char *dst, size_t dst_len) {
    const char *value = NULL;
    if (vips_image_get_typeof(image, field) == 0) return -1;
    if (vips_image_get_string(image, field, &value) != 0 || value == NULL) return -1;
    g_strlcpy(dst, value, dst_len);
    return 0;
}

int hearth_vips_thumbnail(const char *path, VipsImage **out, int width, int height, int fail_on) {
    return vips_thumbnail(path, out, width, "height", height, "size", VIPS_SIZE_DOWN,
                          "fail_on", (VipsFailOn)fail_on, NULL);
}

int hearth_vips_thumbnail_buffer(const void *buf, size_t len, VipsImage **out, int width, int height, int fail_on) {
    return vips_thumbnail_buffer((void *)buf, len, out, width, "height", height, "size", VIPS_SIZE_DOWN,
                                 "fail_on", (VipsFailOn)fail_on, NULL);
}

int hearth_vips_thumbnail_image(VipsImage *in, VipsImage **out, int width, int height) {
    return vips_thumbnail_image(in, out, width, "height", height, "size", VIPS_SIZE_DOWN, NULL);
}

int hearth_vips_jpegsave_buffer(VipsImage *in, void **buf, size_t *len, int quality) {
    return vips_jpegsave_buffer(in, buf, len, "Q", quality, "strip", TRUE, "optimize_coding", TRUE, NULL);
}

int hearth_vips_jpegsave_buffer_keep(VipsImage *in, void **buf, size_t *len, int quality) {
    return vips_jpegsave_buffer(in, buf, len, "Q", quality, NULL);
}

int hearth_vips_webpsave_buffer(VipsImage *in, void **buf, size_t *len, int quality) {
    return vips_webpsave_buffer(in, buf, len, "Q", quality, "strip", TRUE, NULL);
}

int hearth_vips_pngsave_buffer(VipsImage *in, void **buf, size_t *len, int compression) {
    return vips_pngsave_buffer(in, buf, len, "compression", compression, NULL);
}

int hearth_vips_tiffsave_buffer(VipsImage *in, void **buf, size_t *len) {
    return vips_tiffsave_buffer(in, buf, len, NULL);
}

int hearth_vips_gifsave_buffer(VipsImage *in, void **buf, size_t *len) {
    return vips_gifsave_buffer(in, buf, len, NULL);
}

int hearth_vips_icc_to_srgb(VipsImage *in, VipsImage **out) {
    return vips_icc_transform(in, out, "srgb", "embedded", TRUE, NULL);
}

int hearth_vips_colourspace_srgb(VipsImage *in, VipsImage **out) {
    return vips_colourspace(in, out, VIPS_INTERPRETATION_sRGB, NULL);
}

int hearth_vips_cast(VipsImage *in, VipsImage **out, VipsBandFormat format) {
    return vips_cast(in, out, format, NULL);
}

int hearth_vips_flatten_white(VipsImage *in, VipsImage **out) {
    double white = (in->BandFmt == VIPS_FORMAT_USHORT || in->Type == VIPS_INTERPRETATION_RGB16
                    || in->Type == VIPS_INTERPRETATION_GREY16) ? 65535.0 : 255.0;
    double background[3] = { white, white, white };
    int n = in->Bands >= 3 ? 3 : 1;
    VipsArrayDouble *array = vips_array_double_new(background, n);
    int status = vips_flatten(in, out, "background", array, NULL);
    vips_area_unref(VIPS_AREA(array));
    return status;
}

int hearth_vips_rot(VipsImage *in, VipsImage **out, VipsAngle angle) {
    return vips_rot(in, out, angle, NULL);
}

int hearth_vips_gaussnoise(VipsImage **out, int width, int height, double mean, double sigma, int seed) {
    return vips_gaussnoise(out, width, height, "mean", mean, "sigma", sigma, "seed", seed, NULL);
}

int hearth_vips_resize_linear(VipsImage *in, VipsImage **out, double scale) {
    return vips_resize(in, out, scale, "kernel", VIPS_KERNEL_LINEAR, NULL);
}

int hearth_vips_extract_area(VipsImage *in, VipsImage **out, int left, int top, int width, int height) {
    return vips_extract_area(in, out, left, top, width, height, NULL);
}

int hearth_vips_add(VipsImage *a, VipsImage *b, VipsImage **out) {
    return vips_add(a, b, out, NULL);
}

int hearth_vips_linear1(VipsImage *in, VipsImage **out, double a, double b) {
    return vips_linear1(in, out, a, b, NULL);
}

int hearth_vips_bandjoin3(VipsImage *a, VipsImage *b, VipsImage *c, VipsImage **out) {
    VipsImage *all[3] = { a, b, c };
    return vips_bandjoin(all, out, 3, NULL);
}

VipsImage *hearth_vips_decode_buffer(const void *buf, size_t len) {
    VipsImage *lazy = vips_image_new_from_buffer(buf, len, "", NULL);
    if (lazy == NULL) return NULL;
    VipsImage *memory = vips_image_copy_memory(lazy);
    g_object_unref(lazy);
    return memory;
}

/* ---- per-file deadline ---- */

#define HEARTH_DEADLINE_KEY "hearth-deadline"
#define HEARTH_DEADLINE_HIT_KEY "hearth-deadline-hit"

static void hearth_eval_cb(VipsImage *image, VipsProgress *progress, void *user) {
    (void)progress;
    (void)user;
    int64_t *deadline = g_object_get_data(G_OBJECT(image), HEARTH_DEADLINE_KEY);
    if (deadline != NULL && g_get_monotonic_time() > *deadline) {
        g_object_set_data(G_OBJECT(image), HEARTH_DEADLINE_HIT_KEY, GINT_TO_POINTER(1));
        vips_image_set_kill(image, TRUE);
    }
}

void hearth_vips_set_deadline(VipsImage *image, int64_t deadline_us) {
    int64_t *stored = g_new(int64_t, 1);
    *stored = deadline_us;
    g_object_set_data_full(G_OBJECT(image), HEARTH_DEADLINE_KEY, stored, g_free);
    vips_image_set_progress(image, TRUE);
    g_signal_connect(image, "eval", G_CALLBACK(hearth_eval_cb), NULL);
}

int hearth_vips_deadline_hit(VipsImage *image) {
    return g_object_get_data(G_OBJECT(image), HEARTH_DEADLINE_HIT_KEY) != NULL;
}

/* ---- RAW via libraw ---- */

static int hearth_raw_fail(hearth_raw_result *r, libraw_data_t *lr, int code, const char *what, int status) {
    r->error_code = code;
    snprintf(r->error, sizeof r->error, "%s: %s", what, status ? libraw_strerror(status) : "refused");
    if (lr) libraw_close(lr);
    return -1;
}

/* libraw calls this between processing stages; non-zero cancels with LIBRAW_CANCELLED_BY_CALLBACK. */
static int hearth_raw_progress(void *data, enum LibRaw_progress stage, int iteration, int expected) {
    (void)stage; (void)iteration; (void)expected;
    int64_t deadline = *(int64_t *)data;
    return g_get_monotonic_time() > deadline ? 1 : 0;
}

int hearth_raw_decode(const char *path, int min_preview_short, double max_pixels, int64_t deadline_us,
                      hearth_raw_result *r) {
    memset(r, 0, sizeof *r);
    libraw_data_t *lr = libraw_init(0);
    if (lr == NULL) return hearth_raw_fail(r, NULL, 3, "libraw_init", 0);
    int64_t deadline = deadline_us;
    libraw_set_progress_handler(lr, hearth_raw_progress, &deadline);

    int status = libraw_open_file(lr, path);
    if (status == LIBRAW_CANCELLED_BY_CALLBACK) return hearth_raw_fail(r, lr, 4, "RAW open", status);
    if (status != LIBRAW_SUCCESS) return hearth_raw_fail(r, lr, 1, "not a RAW file libraw can open", status);

    int w = lr->sizes.width, h = lr->sizes.height, flip = lr->sizes.flip;
    if (w <= 0 || h <= 0) return hearth_raw_fail(r, lr, 1, "RAW file has no image size", 0);
    if ((double)lr->sizes.raw_width * (double)lr->sizes.raw_height > max_pixels)
        return hearth_raw_fail(r, lr, 2, "sensor larger than the pixel limit", 0);
    r->width = (flip & 4) ? h : w;
    r->height = (flip & 4) ? w : h;

    /* The embedded preview is usually a camera-rendered full-size JPEG: far cheaper than
     * demosaicing, and what the camera showed. */
    if (lr->thumbnail.tformat == LIBRAW_THUMBNAIL_JPEG || lr->thumbnail.tformat == LIBRAW_THUMBNAIL_UNKNOWN) {
        int tw = lr->thumbnail.twidth, th = lr->thumbnail.theight;
        int shorter = tw < th ? tw : th;
        int thumb_status = shorter >= min_preview_short ? libraw_unpack_thumb(lr) : LIBRAW_UNSPECIFIED_ERROR;
        if (thumb_status == LIBRAW_CANCELLED_BY_CALLBACK) return hearth_raw_fail(r, lr, 4, "RAW preview", thumb_status);
        if (thumb_status == LIBRAW_SUCCESS && lr->thumbnail.tformat == LIBRAW_THUMBNAIL_JPEG) {
            int err = 0;
            libraw_processed_image_t *thumb = libraw_dcraw_make_mem_thumb(lr, &err);
            if (thumb != NULL && thumb->type == LIBRAW_IMAGE_JPEG && thumb->data_size > 0) {
                r->jpeg = g_memdup2(thumb->data, thumb->data_size);
                r->jpeg_len = thumb->data_size;
                r->flip = flip;
                libraw_dcraw_clear_mem(thumb);
                libraw_close(lr);
                return 0;
            }
            if (thumb) libraw_dcraw_clear_mem(thumb);
        }
    }

    lr->params.half_size = 1;
    lr->params.use_camera_wb = 1;
    lr->params.output_bps = 8;
    status = libraw_unpack(lr);
    if (status == LIBRAW_CANCELLED_BY_CALLBACK) return hearth_raw_fail(r, lr, 4, "RAW decode", status);
    if (status != LIBRAW_SUCCESS) return hearth_raw_fail(r, lr, 3, "RAW unpack failed", status);
    status = libraw_dcraw_process(lr);
    if (status == LIBRAW_CANCELLED_BY_CALLBACK) return hearth_raw_fail(r, lr, 4, "RAW decode", status);
    if (status != LIBRAW_SUCCESS) return hearth_raw_fail(r, lr, 3, "RAW demosaic failed", status);
    int err = 0;
    libraw_processed_image_t *img = libraw_dcraw_make_mem_image(lr, &err);
    if (img == NULL || img->type != LIBRAW_IMAGE_BITMAP || img->bits != 8 || (img->colors != 3 && img->colors != 1)) {
        if (img) libraw_dcraw_clear_mem(img);
        return hearth_raw_fail(r, lr, 3, "RAW produced no 8-bit bitmap", err);
    }
    r->image = vips_image_new_from_memory_copy(img->data, img->data_size, img->width, img->height,
                                               img->colors, VIPS_FORMAT_UCHAR);
    if (r->image != NULL) {
        r->image->Type = img->colors == 3 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W;
    }
    libraw_dcraw_clear_mem(img);
    libraw_close(lr);
    if (r->image == NULL) return hearth_raw_fail(r, NULL, 3, "could not wrap RAW pixels", 0);
    return 0;
}
