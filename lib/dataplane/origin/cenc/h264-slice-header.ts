/**
 * How many bytes of an H.264 slice NAL unit are its header (ITU-T H.264 section 7.3.3), so common
 * encryption can leave the header clear: ISO/IEC 23001-7 (and CMAF, and Apple's cbcs rules) protect
 * only slice data. The header's length depends on the active sequence and picture parameter sets,
 * so this keeps the few SPS/PPS fields it needs, from `avcC` and from in-band parameter sets.
 *
 * Reads exp-Golomb codes through emulation prevention bytes (0x000003); lengths are in bytes of the
 * NAL unit as stored (escaped), as the subsample map counts them.
 */

export class H264Error extends Error {}

/** The SPS fields a slice header's layout depends on. */
interface Sps {
  readonly separateColourPlane: boolean;
  readonly chromaArrayType: number;
  readonly log2MaxFrameNum: number;
  readonly picOrderCntType: number;
  readonly log2MaxPicOrderCntLsb: number;
  readonly deltaPicOrderAlwaysZero: boolean;
  readonly frameMbsOnly: boolean;
  readonly picSizeInMapUnits: number;
}

/** The PPS fields a slice header's layout depends on. */
interface Pps {
  readonly spsId: number;
  readonly entropyCodingMode: boolean;
  readonly bottomFieldPicOrderInFramePresent: boolean;
  readonly sliceGroupMapType: number;
  readonly numSliceGroups: number;
  readonly sliceGroupChangeRate: number;
  readonly numRefIdxL0Default: number;
  readonly numRefIdxL1Default: number;
  readonly weightedPred: boolean;
  readonly weightedBipredIdc: number;
  readonly deblockingFilterControlPresent: boolean;
  readonly redundantPicCntPresent: boolean;
}

/** profile_idc values whose SPS carries chroma format, bit depths and scaling matrices (7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

export const NAL_TYPE = { slice: 1, idrSlice: 5, sps: 7, pps: 8 } as const;

/** Reads RBSP bits from an escaped NAL unit payload. */
class RbspReader {
  private next: number;
  private current = 0;
  private bitsLeft = 0;
  private zeros = 0;

  constructor(private readonly data: Uint8Array, private readonly start: number, private readonly end: number) {
    this.next = start;
  }

  /** Escaped bytes loaded so far, counting a partly read one (the header length once it is parsed). */
  get bytesUsed(): number {
    return this.next - this.start;
  }

  bit(): number {
    if (this.bitsLeft === 0) this.load();
    this.bitsLeft--;
    return (this.current >> this.bitsLeft) & 1;
  }

  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.bit();
    return value;
  }

  flag(): boolean {
    return this.bit() === 1;
  }

  ue(): number {
    let leadingZeros = 0;
    while (this.bit() === 0) {
      if (++leadingZeros > 31) throw new H264Error('exp-Golomb code longer than 32 bits');
    }
    return 2 ** leadingZeros - 1 + this.bits(leadingZeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }

  private load(): void {
    if (this.next >= this.end) throw new H264Error('NAL unit ended inside a header');
    let byte = this.data[this.next++];
    if (this.zeros >= 2 && byte === 3) {
      // emulation_prevention_three_byte: not part of the RBSP
      if (this.next >= this.end) throw new H264Error('NAL unit ended after an emulation prevention byte');
      byte = this.data[this.next++];
      this.zeros = 0;
    }
    this.zeros = byte === 0 ? this.zeros + 1 : 0;
    this.current = byte;
    this.bitsLeft = 8;
  }
}

/**
 * Parameter sets seen so far on one track: from the `avcC` of its init section, then from SPS/PPS
 * NAL units in its samples (they replace sets with the same id, as in a decoder).
 */
export class H264ParameterSets {
  private readonly spsById = new Map<number, Sps>();
  private readonly ppsById = new Map<number, Pps>();

  /** A copy, so in-band sets of one fragment do not leak into the next one's parsing. */
  clone(): H264ParameterSets {
    const copy = new H264ParameterSets();
    for (const [id, sps] of this.spsById) copy.spsById.set(id, sps);
    for (const [id, pps] of this.ppsById) copy.ppsById.set(id, pps);
    return copy;
  }

  /** Records an SPS or PPS NAL unit (`data[start]` is its NAL header byte); other types are ignored. */
  add(data: Uint8Array, start: number, end: number): void {
    const type = data[start] & 0x1f;
    if (type === NAL_TYPE.sps) this.addSps(new RbspReader(data, start + 1, end));
    else if (type === NAL_TYPE.pps) this.addPps(new RbspReader(data, start + 1, end));
  }

  /**
   * Bytes from the NAL header (`data[start]`) through the end of the slice header of a slice NAL
   * unit (types 1 and 5), rounded up to whole bytes: where slice data, the part to protect, starts.
   */
  sliceHeaderEnd(data: Uint8Array, start: number, end: number): number {
    const header = data[start];
    const nalRefIdc = (header >> 5) & 3;
    const nalType = header & 0x1f;
    const idr = nalType === NAL_TYPE.idrSlice;
    const r = new RbspReader(data, start + 1, end);
    r.ue(); // first_mb_in_slice
    const sliceType = r.ue() % 5;
    const ppsId = r.ue();
    const pps = this.ppsById.get(ppsId);
    if (!pps) throw new H264Error(`slice refers to picture parameter set ${ppsId}, which was not sent`);
    const sps = this.spsById.get(pps.spsId);
    if (!sps) throw new H264Error(`picture parameter set ${ppsId} refers to sequence parameter set ${pps.spsId}, which was not sent`);
    const P = 0;
    const B = 1;
    const I = 2;
    const SP = 3;
    const SI = 4;
    if (sps.separateColourPlane) r.bits(2); // colour_plane_id
    r.bits(sps.log2MaxFrameNum); // frame_num
    let fieldPic = false;
    if (!sps.frameMbsOnly) {
      fieldPic = r.flag();
      if (fieldPic) r.bit(); // bottom_field_flag
    }
    if (idr) r.ue(); // idr_pic_id
    if (sps.picOrderCntType === 0) {
      r.bits(sps.log2MaxPicOrderCntLsb);
      if (pps.bottomFieldPicOrderInFramePresent && !fieldPic) r.se();
    }
    if (sps.picOrderCntType === 1 && !sps.deltaPicOrderAlwaysZero) {
      r.se();
      if (pps.bottomFieldPicOrderInFramePresent && !fieldPic) r.se();
    }
    if (pps.redundantPicCntPresent) r.ue();
    if (sliceType === B) r.bit(); // direct_spatial_mv_pred_flag
    let refL0 = pps.numRefIdxL0Default;
    let refL1 = pps.numRefIdxL1Default;
    if (sliceType === P || sliceType === SP || sliceType === B) {
      if (r.flag()) { // num_ref_idx_active_override_flag
        refL0 = r.ue() + 1;
        if (sliceType === B) refL1 = r.ue() + 1;
      }
    }
    // ref_pic_list_modification() (nal types 20/21 are not slices this reads)
    if (sliceType !== I && sliceType !== SI) skipRefPicListModification(r);
    if (sliceType === B) skipRefPicListModification(r);
    if ((pps.weightedPred && (sliceType === P || sliceType === SP)) || (pps.weightedBipredIdc === 1 && sliceType === B)) {
      // pred_weight_table()
      r.ue(); // luma_log2_weight_denom
      if (sps.chromaArrayType !== 0) r.ue(); // chroma_log2_weight_denom
      skipWeights(r, refL0, sps.chromaArrayType);
      if (sliceType === B) skipWeights(r, refL1, sps.chromaArrayType);
    }
    if (nalRefIdc !== 0) {
      // dec_ref_pic_marking()
      if (idr) {
        r.bits(2); // no_output_of_prior_pics_flag, long_term_reference_flag
      } else if (r.flag()) { // adaptive_ref_pic_marking_mode_flag
        for (let op = r.ue(); op !== 0; op = r.ue()) {
          if (op === 1 || op === 3) r.ue(); // difference_of_pic_nums_minus1
          if (op === 2) r.ue(); // long_term_pic_num
          if (op === 3 || op === 6) r.ue(); // long_term_frame_idx
          if (op === 4) r.ue(); // max_long_term_frame_idx_plus1
          if (op > 6) throw new H264Error(`memory_management_control_operation ${op} does not exist`);
        }
      }
    }
    if (pps.entropyCodingMode && sliceType !== I && sliceType !== SI) r.ue(); // cabac_init_idc
    r.se(); // slice_qp_delta
    if (sliceType === SP || sliceType === SI) {
      if (sliceType === SP) r.bit(); // sp_for_switch_flag
      r.se(); // slice_qs_delta
    }
    if (pps.deblockingFilterControlPresent) {
      if (r.ue() !== 1) { // disable_deblocking_filter_idc
        r.se(); // slice_alpha_c0_offset_div2
        r.se(); // slice_beta_offset_div2
      }
    }
    if (pps.numSliceGroups > 1 && pps.sliceGroupMapType >= 3 && pps.sliceGroupMapType <= 5) {
      r.bits(Math.ceil(Math.log2(sps.picSizeInMapUnits / pps.sliceGroupChangeRate + 1))); // slice_group_change_cycle
    }
    return 1 + r.bytesUsed;
  }

  private addSps(r: RbspReader): void {
    const profileIdc = r.bits(8);
    r.bits(16); // constraint flags, level_idc
    const id = r.ue();
    let chromaFormatIdc = 1;
    let separateColourPlane = false;
    if (HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = r.ue();
      if (chromaFormatIdc === 3) separateColourPlane = r.flag();
      r.ue(); // bit_depth_luma_minus8
      r.ue(); // bit_depth_chroma_minus8
      r.bit(); // qpprime_y_zero_transform_bypass_flag
      if (r.flag()) { // seq_scaling_matrix_present_flag
        const lists = chromaFormatIdc !== 3 ? 8 : 12;
        for (let i = 0; i < lists; i++) if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
    const log2MaxFrameNum = r.ue() + 4;
    const picOrderCntType = r.ue();
    let log2MaxPicOrderCntLsb = 0;
    let deltaPicOrderAlwaysZero = false;
    if (picOrderCntType === 0) {
      log2MaxPicOrderCntLsb = r.ue() + 4;
    } else if (picOrderCntType === 1) {
      deltaPicOrderAlwaysZero = r.flag();
      r.se(); // offset_for_non_ref_pic
      r.se(); // offset_for_top_to_bottom_field
      const cycle = r.ue();
      for (let i = 0; i < cycle; i++) r.se(); // offset_for_ref_frame
    }
    r.ue(); // max_num_ref_frames
    r.bit(); // gaps_in_frame_num_value_allowed_flag
    const widthInMbs = r.ue() + 1;
    const heightInMapUnits = r.ue() + 1;
    const frameMbsOnly = r.flag();
    if (log2MaxFrameNum > 16 || log2MaxPicOrderCntLsb > 16) throw new H264Error(`sequence parameter set ${id} is out of range`);
    this.spsById.set(id, {
      separateColourPlane,
      chromaArrayType: separateColourPlane ? 0 : chromaFormatIdc,
      log2MaxFrameNum,
      picOrderCntType,
      log2MaxPicOrderCntLsb,
      deltaPicOrderAlwaysZero,
      frameMbsOnly,
      picSizeInMapUnits: widthInMbs * heightInMapUnits,
    });
  }

  private addPps(r: RbspReader): void {
    const id = r.ue();
    const spsId = r.ue();
    const entropyCodingMode = r.flag();
    const bottomFieldPicOrderInFramePresent = r.flag();
    const numSliceGroups = r.ue() + 1;
    let sliceGroupMapType = 0;
    let sliceGroupChangeRate = 1;
    if (numSliceGroups > 1) {
      sliceGroupMapType = r.ue();
      if (sliceGroupMapType === 0) {
        for (let i = 0; i < numSliceGroups; i++) r.ue(); // run_length_minus1
      } else if (sliceGroupMapType === 2) {
        for (let i = 0; i < numSliceGroups - 1; i++) {
          r.ue(); // top_left
          r.ue(); // bottom_right
        }
      } else if (sliceGroupMapType >= 3 && sliceGroupMapType <= 5) {
        r.bit(); // slice_group_change_direction_flag
        sliceGroupChangeRate = r.ue() + 1;
      } else if (sliceGroupMapType === 6) {
        const units = r.ue() + 1;
        const bits = Math.ceil(Math.log2(numSliceGroups));
        for (let i = 0; i < units; i++) r.bits(bits); // slice_group_id
      }
    }
    const numRefIdxL0Default = r.ue() + 1;
    const numRefIdxL1Default = r.ue() + 1;
    const weightedPred = r.flag();
    const weightedBipredIdc = r.bits(2);
    r.se(); // pic_init_qp_minus26
    r.se(); // pic_init_qs_minus26
    r.se(); // chroma_qp_index_offset
    const deblockingFilterControlPresent = r.flag();
    r.bit(); // constrained_intra_pred_flag
    const redundantPicCntPresent = r.flag();
    this.ppsById.set(id, {
      spsId,
      entropyCodingMode,
      bottomFieldPicOrderInFramePresent,
      sliceGroupMapType,
      numSliceGroups,
      sliceGroupChangeRate,
      numRefIdxL0Default,
      numRefIdxL1Default,
      weightedPred,
      weightedBipredIdc,
      deblockingFilterControlPresent,
      redundantPicCntPresent,
    });
  }
}

function skipScalingList(r: RbspReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

function skipRefPicListModification(r: RbspReader): void {
  if (!r.flag()) return; // ref_pic_list_modification_flag_lX
  for (let idc = r.ue(); idc !== 3; idc = r.ue()) {
    if (idc > 5) throw new H264Error(`modification_of_pic_nums_idc ${idc} does not exist`);
    r.ue(); // abs_diff_pic_num_minus1, long_term_pic_num, or abs_diff_view_idx_minus1
  }
}

function skipWeights(r: RbspReader, refs: number, chromaArrayType: number): void {
  for (let i = 0; i < refs; i++) {
    if (r.flag()) { // luma_weight_lX_flag
      r.se();
      r.se();
    }
    if (chromaArrayType !== 0 && r.flag()) { // chroma_weight_lX_flag
      for (let j = 0; j < 4; j++) r.se();
    }
  }
}
