/**
 * Rendered Kubernetes objects (lib/render/kubernetes-objects.ts) -> @cdktf/provider-kubernetes
 * resources: a renaming of fields into the provider's schema (singular block names, int-or-string as
 * strings), no decisions, so `cdktf deploy` creates the objects the YAML output describes (a test holds
 * them equal). A Secret fed by sensitive variables is the one object only this output has: Terraform
 * fills it from `${var.NAME}`, so no value enters cdk.tf.json. The provider's modules are imported by
 * path (its index is large and slow to load), and its converters write the resources (see ProviderResource).
 */
import { Construct } from 'constructs';
import { hashMapper, stringToTerraform, TerraformResource } from 'cdktf';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { configMapV1MetadataToTerraform } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { DeploymentV1SpecTemplateSpecContainer, deploymentV1MetadataToTerraform, deploymentV1SpecToTerraform } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { horizontalPodAutoscalerV2MetadataToTerraform, horizontalPodAutoscalerV2SpecToTerraform } from '@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2';
import { namespaceV1MetadataToTerraform } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { networkPolicyV1MetadataToTerraform, networkPolicyV1SpecToTerraform } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { persistentVolumeClaimV1MetadataToTerraform, persistentVolumeClaimV1SpecToTerraform } from '@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1';
import { secretV1MetadataToTerraform } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { serviceV1MetadataToTerraform, serviceV1SpecToTerraform } from '@cdktf/provider-kubernetes/lib/service-v1';
import { WorkloadSpec } from '../contract/workload-spec';
import { AccountManifest, KubernetesPlatform } from '../model/manifest';
import type { ConfigMapV1Config } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import type { DeploymentV1Config } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import type { HorizontalPodAutoscalerV2Config } from '@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2';
import type { NamespaceV1Config } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import type { NetworkPolicyV1Config } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import type { PersistentVolumeClaimV1Config } from '@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1';
import type { SecretV1Config } from '@cdktf/provider-kubernetes/lib/secret-v1';
import type { ServiceV1Config } from '@cdktf/provider-kubernetes/lib/service-v1';
import { Container, Deployment, KubernetesObject, kubernetesObjects, liveConfigMapName, ObjectMeta, SecretSource } from '../render/kubernetes-objects';
import { logicalId } from './docker-resources';
import { resolvedBlock } from './resolved-block';

/** The provider (unless the stack has one) and every Kubernetes account's objects and Secrets. */
export function kubernetesStackResources(scope: Construct, accounts: readonly AccountManifest[], specs: readonly WorkloadSpec[]): void {
  if (accounts.length === 0) return;
  if (!scope.node.scope?.node.findAll().some((c) => c instanceof KubernetesProvider)) new KubernetesProvider(scope, 'kubernetes', {});
  for (const account of accounts) {
    const platform = account.platform as KubernetesPlatform;
    const rendering = kubernetesObjects({ name: account.name, platform }, specs.filter((s) => s.account === account.name));
    const namespace = rendering.objects.find((o) => o.kind === 'Namespace');
    const namespaceResource = namespace ? resourceOf(scope, namespace, []) : undefined;
    const first = namespaceResource ? [namespaceResource] : [];
    const secrets = rendering.secrets.map((s) => secretResource(scope, s, first));
    const claim = rendering.objects.find((o) => o.kind === 'PersistentVolumeClaim');
    const claimResource = claim ? resourceOf(scope, claim, first) : undefined;
    const configMaps = new Map<string, TerraformResource>();
    for (const object of rendering.objects) {
      if (object === namespace || object === claim) continue;
      if (object.kind === 'Deployment') {
        // A Deployment waits for what its pods mount and read: Terraform waits for its rollout.
        const configMap = configMaps.get(liveConfigMapName(object.metadata.name!));
        resourceOf(scope, object, [...first, ...(claimResource ? [claimResource] : []), ...secrets, ...(configMap ? [configMap] : [])]);
      } else {
        const resource = resourceOf(scope, object, first);
        if (object.kind === 'ConfigMap') configMaps.set(object.metadata.name!, resource);
      }
    }
  }
}

/** Logical id of an object: kind and name, stable across synths. */
export function kubernetesLogicalId(kind: string, name: string): string {
  return logicalId(`${kind.toLowerCase()}_${name}`);
}

function secretResource(scope: Construct, source: SecretSource, dependsOn: TerraformResource[]): TerraformResource {
  const resource = new ProviderResource(scope, kubernetesLogicalId('Secret', source.name), 'kubernetes_secret_v1', providerAttributes('kubernetes_secret_v1', secretConfig(source)));
  resource.overrideLogicalId(kubernetesLogicalId('Secret', source.name));
  dependOn(resource, dependsOn);
  return resource;
}

function resourceOf(scope: Construct, object: KubernetesObject, dependsOn: TerraformResource[]): TerraformResource {
  const id = kubernetesLogicalId(object.kind, object.metadata.name!);
  const resource = providerResource(scope, id, object);
  resource.overrideLogicalId(id);
  dependOn(resource, dependsOn);
  return resource;
}

/**
 * `depends_on` as the addresses Terraform reads, not as references: cdktf records a stack trace for
 * every token it creates, which made synth of a thousand channels four times slower.
 */
function dependOn(resource: TerraformResource, dependencies: readonly TerraformResource[]): void {
  if (dependencies.length > 0) resource.addOverride('depends_on', dependencies.map((d) => `${d.terraformResourceType}.${d.friendlyUniqueId}`));
}

/**
 * What the provider's generated classes (DeploymentV1, ServiceV1, ...) write for a resource, written by
 * their own exported converters (`deploymentV1SpecToTerraform`, ...) on their own config types. The
 * classes themselves build a tree of attribute references per resource, each recording a stack trace:
 * four times the synth time of the same app on Docker. A unit test holds both to the same JSON.
 */
export class ProviderResource extends TerraformResource {
  constructor(scope: Construct, id: string, type: string, private readonly attributes: Record<string, unknown>) {
    super(scope, id, { terraformResourceType: type, terraformGeneratorMetadata: PROVIDER_METADATA });
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return this.attributes;
  }

  /**
   * cdktf's fragment of this resource, with its block already resolved when it holds no token (see
   * resolved-block.ts: cdktf's node-by-node resolution was most of a Kubernetes synth). A block the
   * stack overrides (`stack.addOverride('resource.TYPE.ID...')`) stays plain: cdktf merges into it.
   */
  public toTerraform(): Record<string, unknown> {
    const fragment = super.toTerraform() as { resource?: Record<string, Record<string, Record<string, unknown>>> };
    const blocks = fragment.resource?.[this.terraformResourceType];
    const block = blocks?.[this.friendlyUniqueId];
    if (!blocks || !block || this.overriddenByStack()) return fragment;
    blocks[this.friendlyUniqueId] = resolvedBlock(block) ?? block;
    return fragment;
  }

  /** Whether the stack's own overrides reach into this resource (or cannot be read: then assume they do). */
  private overriddenByStack(): boolean {
    // TerraformStack keeps them in a private field; what addOverride writes there is its documented path.
    const overrides = (this.cdktfStack as unknown as { rawOverrides?: unknown }).rawOverrides;
    if (typeof overrides !== 'object' || overrides === null) return true;
    const byType = (overrides as { resource?: Record<string, Record<string, unknown> | undefined> }).resource?.[this.terraformResourceType];
    return byType?.[this.friendlyUniqueId] !== undefined;
  }
}

/** What @cdktf/provider-kubernetes 12.1.1 records for each of its resources. */
const PROVIDER_METADATA = { providerName: 'kubernetes', providerVersion: '2.38.0', providerVersionConstraint: '~> 2.0' };

function providerResource(scope: Construct, id: string, object: KubernetesObject): TerraformResource {
  const { type, config } = providerConfig(object);
  return new ProviderResource(scope, id, type, providerAttributes(type, config));
}

/** The Secret of variable-fed secrets, as the config of the provider's SecretV1. */
export function secretConfig(source: SecretSource): Record<string, unknown> {
  return {
    metadata: { name: source.name, namespace: source.namespace, labels: { 'app.kubernetes.io/managed-by': 'livestack' } },
    data: Object.fromEntries(source.keys.map((key) => [key, `\${var.${key}}`])),
    type: 'Opaque',
  } satisfies SecretV1Config;
}

/** An object as the provider's resource type and the config its generated class takes. */
export function providerConfig(object: KubernetesObject): { type: string; config: Record<string, unknown> } {
  const meta = metadata(object.metadata);
  switch (object.kind) {
    case 'Namespace':
      return { type: 'kubernetes_namespace_v1', config: { metadata: meta } satisfies NamespaceV1Config };
    case 'PersistentVolumeClaim':
      return {
        type: 'kubernetes_persistent_volume_claim_v1',
        config: {
          metadata: meta,
          spec: { accessModes: [...object.spec.accessModes], resources: { requests: { ...object.spec.resources.requests } }, storageClassName: object.spec.storageClassName },
          // A class that binds on first use would leave Terraform waiting for a pod it has not created yet.
          waitUntilBound: false,
        } satisfies PersistentVolumeClaimV1Config,
      };
    case 'ConfigMap':
      return { type: 'kubernetes_config_map_v1', config: { metadata: meta, data: { ...object.data } } satisfies ConfigMapV1Config };
    case 'Deployment':
      return { type: 'kubernetes_deployment_v1', config: { metadata: meta, spec: deploymentSpec(object) } satisfies DeploymentV1Config };
    case 'Service':
      return {
        type: 'kubernetes_service_v1',
        config: {
          metadata: meta,
          spec: {
            type: object.spec.type,
            selector: { ...object.spec.selector },
            port: object.spec.ports.map((p) => ({ name: p.name, port: p.port, targetPort: String(p.targetPort), protocol: p.protocol })),
            externalTrafficPolicy: object.spec.externalTrafficPolicy,
          },
        } satisfies ServiceV1Config,
      };
    case 'NetworkPolicy':
      return {
        type: 'kubernetes_network_policy_v1',
        config: {
          metadata: meta,
          spec: {
            podSelector: { matchLabels: { ...object.spec.podSelector.matchLabels } },
            policyTypes: [...object.spec.policyTypes],
            ingress: object.spec.ingress.map((rule) => ('from' in rule
              ? { from: rule.from.map((f) => ({ podSelector: { matchLabels: { ...f.podSelector.matchLabels } } })) }
              : { ports: rule.ports.map((p) => ({ port: String(p.port), protocol: p.protocol })) })),
          },
        } satisfies NetworkPolicyV1Config,
      };
    case 'HorizontalPodAutoscaler':
      return {
        type: 'kubernetes_horizontal_pod_autoscaler_v2',
        config: {
          metadata: meta,
          spec: {
            scaleTargetRef: { ...object.spec.scaleTargetRef },
            minReplicas: object.spec.minReplicas,
            maxReplicas: object.spec.maxReplicas,
            metric: object.spec.metrics.map((m) => ({ type: m.type, resource: { name: m.resource.name, target: { ...m.resource.target } } })),
          },
        } satisfies HorizontalPodAutoscalerV2Config,
      };
  }
}

/** The provider's converters of each resource type's metadata and spec blocks. */
const CONVERTERS: Record<string, { readonly metadata: (m: never) => unknown; readonly spec?: (s: never) => unknown }> = {
  kubernetes_namespace_v1: { metadata: namespaceV1MetadataToTerraform },
  kubernetes_persistent_volume_claim_v1: { metadata: persistentVolumeClaimV1MetadataToTerraform, spec: persistentVolumeClaimV1SpecToTerraform },
  kubernetes_config_map_v1: { metadata: configMapV1MetadataToTerraform },
  kubernetes_secret_v1: { metadata: secretV1MetadataToTerraform },
  kubernetes_deployment_v1: { metadata: deploymentV1MetadataToTerraform, spec: deploymentV1SpecToTerraform },
  kubernetes_service_v1: { metadata: serviceV1MetadataToTerraform, spec: serviceV1SpecToTerraform },
  kubernetes_network_policy_v1: { metadata: networkPolicyV1MetadataToTerraform, spec: networkPolicyV1SpecToTerraform },
  kubernetes_horizontal_pod_autoscaler_v2: { metadata: horizontalPodAutoscalerV2MetadataToTerraform, spec: horizontalPodAutoscalerV2SpecToTerraform },
};

/** A config as the provider's class writes it, by the provider's own converters (the class's synthesizeAttributes). */
export function providerAttributes(type: string, config: Record<string, unknown>): Record<string, unknown> {
  const converters = CONVERTERS[type];
  if (!converters) throw new Error(`no provider converter for ${type}`);
  const { metadata: meta, spec, data, waitUntilBound, type: secretType } = config as { metadata: never; spec?: never; data?: Record<string, string>; waitUntilBound?: boolean; type?: string };
  return {
    metadata: converters.metadata(meta),
    ...(converters.spec ? { spec: converters.spec(spec as never) } : {}),
    ...(data !== undefined ? { data: hashMapper(stringToTerraform)(data) } : {}),
    ...(waitUntilBound !== undefined ? { wait_until_bound: waitUntilBound } : {}),
    ...(secretType !== undefined ? { type: secretType } : {}),
  };
}

function metadata(meta: ObjectMeta) {
  return { name: meta.name, namespace: meta.namespace, labels: meta.labels && { ...meta.labels }, annotations: meta.annotations && { ...meta.annotations } };
}

function deploymentSpec(object: Deployment) {
  const { spec } = object;
  const pod = spec.template.spec;
  return {
    replicas: spec.replicas === undefined ? undefined : String(spec.replicas),
    selector: { matchLabels: { ...spec.selector.matchLabels } },
    strategy: spec.strategy.type === 'Recreate'
      ? { type: 'Recreate' }
      : { type: 'RollingUpdate', rollingUpdate: { maxSurge: String(spec.strategy.rollingUpdate.maxSurge), maxUnavailable: String(spec.strategy.rollingUpdate.maxUnavailable) } },
    template: {
      metadata: metadata(spec.template.metadata),
      spec: {
        container: pod.containers.map(container),
        volume: pod.volumes.map((v) => ('persistentVolumeClaim' in v
          ? { name: v.name, persistentVolumeClaim: { claimName: v.persistentVolumeClaim.claimName } }
          : { name: v.name, configMap: { name: v.configMap.name } })),
        nodeSelector: pod.nodeSelector && { ...pod.nodeSelector },
        toleration: pod.tolerations?.map((t) => ({ ...t, tolerationSeconds: t.tolerationSeconds === undefined ? undefined : String(t.tolerationSeconds) })),
        imagePullSecrets: pod.imagePullSecrets?.map((s) => ({ name: s.name })),
        enableServiceLinks: pod.enableServiceLinks,
        shareProcessNamespace: pod.shareProcessNamespace,
      },
    },
  };
}

function container(c: Container): DeploymentV1SpecTemplateSpecContainer {
  const probe = (p: Container['livenessProbe']) => ({
    exec: { command: [...p.exec.command] },
    periodSeconds: p.periodSeconds,
    timeoutSeconds: p.timeoutSeconds,
    failureThreshold: p.failureThreshold,
    initialDelaySeconds: p.initialDelaySeconds,
  });
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: c.imagePullPolicy,
    args: [...c.args],
    env: c.env.map((e) => (e.valueFrom
      ? { name: e.name, valueFrom: { secretKeyRef: { name: e.valueFrom.secretKeyRef.name, key: e.valueFrom.secretKeyRef.key } } }
      : { name: e.name, value: e.value })),
    port: c.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol })),
    volumeMount: c.volumeMounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly })),
    readinessProbe: probe(c.readinessProbe),
    livenessProbe: probe(c.livenessProbe),
    resources: { requests: c.resources.requests && { ...c.resources.requests }, limits: c.resources.limits && { ...c.resources.limits } },
  };
}
