/* JPEG decode and encode through libjpeg(-turbo), with setjmp-guarded error handling and EXIF orientation. */
#include "rorem_codecs.h"
#include <stdio.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    int premature_end;
} ro_jpeg_error;

static void ro_jpeg_error_exit(j_common_ptr cinfo) {
    ro_jpeg_error *err = (ro_jpeg_error *)cinfo->err;
    longjmp(err->jump, 1);
}

static void ro_jpeg_emit(j_common_ptr cinfo, int level) {
    ro_jpeg_error *err = (ro_jpeg_error *)cinfo->err;
    if (level < 0 && err->base.msg_code == JWRN_JPEG_EOF) err->premature_end = 1;
}

static uint16_t rd16(const uint8_t *p, int le) { return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p, int le) {
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads tag 0x0112 (Orientation) from IFD0 of an Exif APP1 payload; every offset is bounds-checked. */
static int exif_orientation(const uint8_t *p, size_t n) {
    if (n < 14 || memcmp(p, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *t = p + 6;
    size_t tn = n - 6;
    int le;
    if (t[0] == 'I' && t[1] == 'I') le = 1; else if (t[0] == 'M' && t[1] == 'M') le = 0; else return 1;
    if (rd16(t + 2, le) != 42) return 1;
    uint32_t ifd = rd32(t + 4, le);
    if ((size_t)ifd + 2 > tn) return 1;
    unsigned count = rd16(t + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > tn) return 1;
        if (rd16(t + e, le) == 0x0112 && rd16(t + e + 2, le) == 3) {
            int v = rd16(t + e + 8, le);
            return (v >= 1 && v <= 8) ? v : 1;
        }
    }
    return 1;
}

int rorem_jpeg_decode(const uint8_t *data, size_t size, long max_side, long max_pixels,
                      rorem_image_info *info, uint8_t **pixels) {
    memset(info, 0, sizeof(*info));
    info->orientation = 1;
    *pixels = NULL;
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) {
        snprintf(info->error, sizeof(info->error), "missing JPEG start-of-image marker");
        return RO_CORRUPT;
    }
    struct jpeg_decompress_struct cinfo;
    ro_jpeg_error jerr;
    uint8_t *volatile buffer = NULL;
    volatile int status = RO_CORRUPT;
    memset(&jerr, 0, sizeof(jerr));
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = ro_jpeg_error_exit;
    jerr.base.emit_message = ro_jpeg_emit;
    if (setjmp(jerr.jump)) {
        if (status == RO_CORRUPT) {
            char message[JMSG_LENGTH_MAX];
            (*cinfo.err->format_message)((j_common_ptr)&cinfo, message);
            snprintf(info->error, sizeof(info->error), "%s", message);
        }
        jpeg_destroy_decompress(&cinfo);
        free(buffer);
        return status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    long w = (long)cinfo.image_width, h = (long)cinfo.image_height;
    if (w <= 0 || h <= 0 || w > max_side || h > max_side || w * h > max_pixels) {
        snprintf(info->error, sizeof(info->error), "header claims %ldx%ld pixels", w, h);
        info->width = (int)w; info->height = (int)h;
        status = (w <= 0 || h <= 0) ? RO_CORRUPT : RO_TOO_LARGE;
        longjmp(jerr.jump, 1);
    }
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1) { info->orientation = exif_orientation(m->data, m->data_length); break; }
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    if (cmyk) cinfo.out_color_space = JCS_CMYK;
    else if (cinfo.num_components == 1) cinfo.out_color_space = JCS_GRAYSCALE;
    else cinfo.out_color_space = JCS_RGB;
    info->interlaced = jpeg_has_multiple_scans(&cinfo);
    jpeg_start_decompress(&cinfo);
    int in_channels = cinfo.output_components;
    int channels = cmyk ? 3 : in_channels;
    if (!(channels == 1 || channels == 3) || (cmyk && in_channels != 4)) {
        snprintf(info->error, sizeof(info->error), "unsupported JPEG colour layout (%d components)", in_channels);
        status = RO_UNSUPPORTED;
        longjmp(jerr.jump, 1);
    }
    size_t out_row = (size_t)w * (size_t)channels;
    buffer = (uint8_t *)malloc(out_row * (size_t)h);
    uint8_t *row = (uint8_t *)malloc((size_t)w * (size_t)in_channels);
    if (!buffer || !row) {
        free(row);
        snprintf(info->error, sizeof(info->error), "out of memory for %ldx%ld pixels", w, h);
        status = RO_NO_MEMORY;
        longjmp(jerr.jump, 1);
    }
    /* Adobe writes inverted CMYK; libjpeg hands it back as stored. */
    int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW target = cmyk ? row : buffer + (size_t)cinfo.output_scanline * out_row;
        size_t y = cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) break;
        if (cmyk) {
            uint8_t *dst = buffer + y * out_row;
            for (long x = 0; x < w; x++) {
                int c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                if (!inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                dst[3 * x] = (uint8_t)((c * k + 127) / 255);
                dst[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
                dst[3 * x + 2] = (uint8_t)((yy * k + 127) / 255);
            }
        }
    }
    free(row);
    if (jerr.premature_end) {
        snprintf(info->error, sizeof(info->error), "file is truncated (premature end of JPEG data)");
        status = RO_CORRUPT;
        longjmp(jerr.jump, 1);
    }
    jpeg_finish_decompress(&cinfo);
    if (jerr.premature_end) {
        snprintf(info->error, sizeof(info->error), "file is truncated (premature end of JPEG data)");
        status = RO_CORRUPT;
        longjmp(jerr.jump, 1);
    }
    info->width = (int)w;
    info->height = (int)h;
    info->channels = channels;
    info->bit_depth = 8;
    jpeg_destroy_decompress(&cinfo);
    *pixels = buffer;
    return RO_OK;
}

int rorem_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                      uint8_t **out, size_t *out_size, char *error, size_t error_size) {
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0 || !(channels == 1 || channels == 3)) {
        snprintf(error, error_size, "invalid JPEG layout %dx%d, %d channels", width, height, channels);
        return RO_UNSUPPORTED;
    }
    struct jpeg_compress_struct cinfo;
    ro_jpeg_error jerr;
    memset(&jerr, 0, sizeof(jerr));
    unsigned char *volatile mem = NULL;
    unsigned long mem_size = 0;
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = ro_jpeg_error_exit;
    jerr.base.emit_message = ro_jpeg_emit;
    if (setjmp(jerr.jump)) {
        char message[JMSG_LENGTH_MAX];
        (*cinfo.err->format_message)((j_common_ptr)&cinfo, message);
        snprintf(error, error_size, "%s", message);
        jpeg_destroy_compress(&cinfo);
        free(mem);
        return RO_CORRUPT;
    }
    jpeg_create_compress(&cinfo);
    unsigned char *dest = NULL;
    jpeg_mem_dest(&cinfo, &dest, &mem_size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    if (quality >= 90 && channels == 3) { /* no chroma subsampling at high quality */
        cinfo.comp_info[0].h_samp_factor = 1;
        cinfo.comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    mem = dest;
    jpeg_destroy_compress(&cinfo);
    *out = (uint8_t *)mem;
    *out_size = (size_t)mem_size;
    return RO_OK;
}
