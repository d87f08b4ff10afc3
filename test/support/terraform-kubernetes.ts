/**
 * Reads the `kubernetes_*` resources of a cdk.tf.json back as Kubernetes API objects: the inverse of
 * the provider's schema (snake_case, singular block names, int-or-string as strings), written
 * independently of livestack's own mapping so a test can hold the two outputs to the same objects.
 */

/** Resource type -> apiVersion and kind of the object it manages. */
const TYPES: Record<string, { apiVersion: string; kind: string }> = {
  kubernetes_namespace_v1: { apiVersion: 'v1', kind: 'Namespace' },
  kubernetes_persistent_volume_claim_v1: { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  kubernetes_config_map_v1: { apiVersion: 'v1', kind: 'ConfigMap' },
  kubernetes_secret_v1: { apiVersion: 'v1', kind: 'Secret' },
  kubernetes_service_v1: { apiVersion: 'v1', kind: 'Service' },
  kubernetes_deployment_v1: { apiVersion: 'apps/v1', kind: 'Deployment' },
  kubernetes_network_policy_v1: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  kubernetes_horizontal_pod_autoscaler_v2: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
};

/** Terraform-only arguments: how Terraform waits or orders, nothing of the object. */
const META = new Set(['//', 'depends_on', 'wait_until_bound', 'wait_for_rollout', 'wait_for_load_balancer', 'timeouts', 'lifecycle', 'provider']);

/** Maps whose keys are the user's (labels, selectors, data), never renamed. */
const VERBATIM = new Set(['labels', 'annotations', 'match_labels', 'selector', 'node_selector', 'data', 'requests', 'limits']);

/** The provider's singular block names for API lists. */
const PLURAL: Record<string, string> = { container: 'containers', port: 'ports', volume_mount: 'volumeMounts', volume: 'volumes', toleration: 'tolerations', metric: 'metrics' };

/** API fields that are integers (or int-or-string) where the provider takes strings. */
const INTEGER_PATHS = [/^spec\.replicas$/, /\.rollingUpdate\.max(Surge|Unavailable)$/, /^spec\.ports\.\d+\.targetPort$/, /^spec\.ingress\.\d+\.ports\.\d+\.port$/, /\.tolerationSeconds$/];

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function convert(value: unknown, key: string, path: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => convert(v, key, `${path}.${i}`));
  if (value !== null && typeof value === 'object') {
    // A Service's `selector` is a map; a Deployment's is a block with match_labels.
    if (VERBATIM.has(key) && !(key === 'selector' && 'match_labels' in value)) return { ...(value as Record<string, unknown>) };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (META.has(k)) continue;
      const name = (Array.isArray(v) ? PLURAL[k] : undefined) ?? camel(k);
      out[name] = convert(v, k, path ? `${path}.${name}` : name);
    }
    return out;
  }
  if (typeof value === 'string' && INTEGER_PATHS.some((p) => p.test(path)) && /^\d+$/.test(value)) return Number(value);
  return value;
}

export interface TerraformKubernetesObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** Every kubernetes_* resource of a cdk.tf.json as the object it manages (an unknown type is an error). */
export function terraformKubernetesObjects(tf: { resource?: Record<string, Record<string, Record<string, unknown>>> }): TerraformKubernetesObject[] {
  const objects: TerraformKubernetesObject[] = [];
  for (const [type, resources] of Object.entries(tf.resource ?? {})) {
    if (!type.startsWith('kubernetes_')) continue;
    const meta = TYPES[type];
    if (!meta) throw new Error(`no API object known for ${type}`);
    for (const resource of Object.values(resources)) {
      const object = { ...meta, ...(convert(resource, '', '') as Record<string, unknown>) };
      // The provider takes a Secret's values in clear text and encodes them: the API's `stringData`.
      if (meta.kind === 'Secret' && 'data' in object) {
        const { data, ...rest } = object as Record<string, unknown>;
        objects.push({ ...rest, stringData: data } as unknown as TerraformKubernetesObject);
        continue;
      }
      objects.push(object as TerraformKubernetesObject);
    }
  }
  return objects;
}
