"""The Go field order of `corev1.PodTemplateSpec` and every type below it, as `encoding/json` writes them.

Data, one entry per Go struct: its JSON fields in declaration order, each `name:type`, `name?:type`
when the tag says `omitempty`, and `...Struct` for an embedded struct whose fields are written in
place. Types: `s` string, `i` integer, `b` bool, `f` number, `q` resource.Quantity, `x`
intstr.IntOrString (kept as sent), `t` metav1.Time, `*T` a pointer, `[T]` a slice, `{T}` a map
(written with sorted keys), and the name of another entry.

Taken from the field declarations of k8s.io/api v0.34.5 `core/v1/types.go` (the version
`kubectl argo rollouts` is built with: argoproj/argo-rollouts go.mod) and metav1's ObjectMeta and
LabelSelector, so that `argo_template.go_value` writes a ReplicaSet's pod template exactly as the CLI's
`json.Marshal` of the typed object does.
"""

from __future__ import annotations

GO_STRUCTS: dict[str, str] = {
    "PodTemplateSpec": "metadata?:ObjectMeta spec?:PodSpec",
    "PodSpec": (
        "volumes?:[Volume] initContainers?:[Container] containers:[Container] "
        "ephemeralContainers?:[EphemeralContainer] restartPolicy?:s terminationGracePeriodSeconds?:*i "
        "activeDeadlineSeconds?:*i dnsPolicy?:s nodeSelector?:{s} serviceAccountName?:s serviceAccount?:s "
        "automountServiceAccountToken?:*b nodeName?:s hostNetwork?:b hostPID?:b hostIPC?:b "
        "shareProcessNamespace?:*b securityContext?:*PodSecurityContext imagePullSecrets?:[LocalObjectReference] "
        "hostname?:s subdomain?:s affinity?:*Affinity schedulerName?:s tolerations?:[Toleration] "
        "hostAliases?:[HostAlias] priorityClassName?:s priority?:*i dnsConfig?:*PodDNSConfig "
        "readinessGates?:[PodReadinessGate] runtimeClassName?:*s enableServiceLinks?:*b preemptionPolicy?:*s "
        "overhead?:{q} topologySpreadConstraints?:[TopologySpreadConstraint] setHostnameAsFQDN?:*b os?:*PodOS "
        "hostUsers?:*b schedulingGates?:[PodSchedulingGate] resourceClaims?:[PodResourceClaim] "
        "resources?:*ResourceRequirements hostnameOverride?:*s"
    ),
    "Volume": "name:s ...VolumeSource",
    "Container": (
        "name:s image?:s command?:[s] args?:[s] workingDir?:s ports?:[ContainerPort] envFrom?:[EnvFromSource] "
        "env?:[EnvVar] resources?:ResourceRequirements resizePolicy?:[ContainerResizePolicy] restartPolicy?:*s "
        "restartPolicyRules?:[ContainerRestartRule] volumeMounts?:[VolumeMount] volumeDevices?:[VolumeDevice] "
        "livenessProbe?:*Probe readinessProbe?:*Probe startupProbe?:*Probe lifecycle?:*Lifecycle "
        "terminationMessagePath?:s terminationMessagePolicy?:s imagePullPolicy?:s "
        "securityContext?:*SecurityContext stdin?:b stdinOnce?:b tty?:b"
    ),
    "EphemeralContainer": "...EphemeralContainerCommon targetContainerName?:s",
    "PodSecurityContext": (
        "seLinuxOptions?:*SELinuxOptions windowsOptions?:*WindowsSecurityContextOptions runAsUser?:*i "
        "runAsGroup?:*i runAsNonRoot?:*b supplementalGroups?:[i] supplementalGroupsPolicy?:*s fsGroup?:*i "
        "sysctls?:[Sysctl] fsGroupChangePolicy?:*s seccompProfile?:*SeccompProfile "
        "appArmorProfile?:*AppArmorProfile seLinuxChangePolicy?:*s"
    ),
    "LocalObjectReference": "name?:s",
    "Affinity": "nodeAffinity?:*NodeAffinity podAffinity?:*PodAffinity podAntiAffinity?:*PodAntiAffinity",
    "Toleration": "key?:s operator?:s value?:s effect?:s tolerationSeconds?:*i",
    "HostAlias": "ip:s hostnames?:[s]",
    "PodDNSConfig": "nameservers?:[s] searches?:[s] options?:[PodDNSConfigOption]",
    "PodReadinessGate": "conditionType:s",
    "TopologySpreadConstraint": (
        "maxSkew:i topologyKey:s whenUnsatisfiable:s labelSelector?:*LabelSelector minDomains?:*i "
        "nodeAffinityPolicy?:*s nodeTaintsPolicy?:*s matchLabelKeys?:[s]"
    ),
    "PodOS": "name:s",
    "PodSchedulingGate": "name:s",
    "PodResourceClaim": "name:s resourceClaimName?:*s resourceClaimTemplateName?:*s",
    "ResourceRequirements": "limits?:{q} requests?:{q} claims?:[ResourceClaim]",
    "VolumeSource": (
        "hostPath?:*HostPathVolumeSource emptyDir?:*EmptyDirVolumeSource "
        "gcePersistentDisk?:*GCEPersistentDiskVolumeSource "
        "awsElasticBlockStore?:*AWSElasticBlockStoreVolumeSource gitRepo?:*GitRepoVolumeSource "
        "secret?:*SecretVolumeSource nfs?:*NFSVolumeSource iscsi?:*ISCSIVolumeSource "
        "glusterfs?:*GlusterfsVolumeSource persistentVolumeClaim?:*PersistentVolumeClaimVolumeSource "
        "rbd?:*RBDVolumeSource flexVolume?:*FlexVolumeSource cinder?:*CinderVolumeSource "
        "cephfs?:*CephFSVolumeSource flocker?:*FlockerVolumeSource downwardAPI?:*DownwardAPIVolumeSource "
        "fc?:*FCVolumeSource azureFile?:*AzureFileVolumeSource configMap?:*ConfigMapVolumeSource "
        "vsphereVolume?:*VsphereVirtualDiskVolumeSource quobyte?:*QuobyteVolumeSource "
        "azureDisk?:*AzureDiskVolumeSource photonPersistentDisk?:*PhotonPersistentDiskVolumeSource "
        "projected?:*ProjectedVolumeSource portworxVolume?:*PortworxVolumeSource scaleIO?:*ScaleIOVolumeSource "
        "storageos?:*StorageOSVolumeSource csi?:*CSIVolumeSource ephemeral?:*EphemeralVolumeSource "
        "image?:*ImageVolumeSource"
    ),
    "ContainerPort": "name?:s hostPort?:i containerPort:i protocol?:s hostIP?:s",
    "EnvFromSource": "prefix?:s configMapRef?:*ConfigMapEnvSource secretRef?:*SecretEnvSource",
    "EnvVar": "name:s value?:s valueFrom?:*EnvVarSource",
    "ContainerResizePolicy": "resourceName:s restartPolicy:s",
    "ContainerRestartRule": "action?:s exitCodes?:*ContainerRestartRuleOnExitCodes",
    "VolumeMount": (
        "name:s readOnly?:b recursiveReadOnly?:*s mountPath:s subPath?:s mountPropagation?:*s subPathExpr?:s"
    ),
    "VolumeDevice": "name:s devicePath:s",
    "Probe": (
        "...ProbeHandler initialDelaySeconds?:i timeoutSeconds?:i periodSeconds?:i successThreshold?:i "
        "failureThreshold?:i terminationGracePeriodSeconds?:*i"
    ),
    "Lifecycle": "postStart?:*LifecycleHandler preStop?:*LifecycleHandler stopSignal?:*s",
    "SecurityContext": (
        "capabilities?:*Capabilities privileged?:*b seLinuxOptions?:*SELinuxOptions "
        "windowsOptions?:*WindowsSecurityContextOptions runAsUser?:*i runAsGroup?:*i runAsNonRoot?:*b "
        "readOnlyRootFilesystem?:*b allowPrivilegeEscalation?:*b procMount?:*s seccompProfile?:*SeccompProfile "
        "appArmorProfile?:*AppArmorProfile"
    ),
    "EphemeralContainerCommon": (
        "name:s image?:s command?:[s] args?:[s] workingDir?:s ports?:[ContainerPort] envFrom?:[EnvFromSource] "
        "env?:[EnvVar] resources?:ResourceRequirements resizePolicy?:[ContainerResizePolicy] restartPolicy?:*s "
        "restartPolicyRules?:[ContainerRestartRule] volumeMounts?:[VolumeMount] volumeDevices?:[VolumeDevice] "
        "livenessProbe?:*Probe readinessProbe?:*Probe startupProbe?:*Probe lifecycle?:*Lifecycle "
        "terminationMessagePath?:s terminationMessagePolicy?:s imagePullPolicy?:s "
        "securityContext?:*SecurityContext stdin?:b stdinOnce?:b tty?:b"
    ),
    "SELinuxOptions": "user?:s role?:s type?:s level?:s",
    "WindowsSecurityContextOptions": (
        "gmsaCredentialSpecName?:*s gmsaCredentialSpec?:*s runAsUserName?:*s hostProcess?:*b"
    ),
    "Sysctl": "name:s value:s",
    "SeccompProfile": "type:s localhostProfile?:*s",
    "AppArmorProfile": "type:s localhostProfile?:*s",
    "NodeAffinity": (
        "requiredDuringSchedulingIgnoredDuringExecution?:*NodeSelector "
        "preferredDuringSchedulingIgnoredDuringExecution?:[PreferredSchedulingTerm]"
    ),
    "PodAffinity": (
        "requiredDuringSchedulingIgnoredDuringExecution?:[PodAffinityTerm] "
        "preferredDuringSchedulingIgnoredDuringExecution?:[WeightedPodAffinityTerm]"
    ),
    "PodAntiAffinity": (
        "requiredDuringSchedulingIgnoredDuringExecution?:[PodAffinityTerm] "
        "preferredDuringSchedulingIgnoredDuringExecution?:[WeightedPodAffinityTerm]"
    ),
    "PodDNSConfigOption": "name?:s value?:*s",
    "ResourceClaim": "name:s request?:s",
    "HostPathVolumeSource": "path:s type?:*s",
    "EmptyDirVolumeSource": "medium?:s sizeLimit?:*q",
    "GCEPersistentDiskVolumeSource": "pdName:s fsType?:s partition?:i readOnly?:b",
    "AWSElasticBlockStoreVolumeSource": "volumeID:s fsType?:s partition?:i readOnly?:b",
    "GitRepoVolumeSource": "repository:s revision?:s directory?:s",
    "SecretVolumeSource": "secretName?:s items?:[KeyToPath] defaultMode?:*i optional?:*b",
    "NFSVolumeSource": "server:s path:s readOnly?:b",
    "ISCSIVolumeSource": (
        "targetPortal:s iqn:s lun:i iscsiInterface?:s fsType?:s readOnly?:b portals?:[s] chapAuthDiscovery?:b "
        "chapAuthSession?:b secretRef?:*LocalObjectReference initiatorName?:*s"
    ),
    "GlusterfsVolumeSource": "endpoints:s path:s readOnly?:b",
    "PersistentVolumeClaimVolumeSource": "claimName:s readOnly?:b",
    "RBDVolumeSource": (
        "monitors:[s] image:s fsType?:s pool?:s user?:s keyring?:s secretRef?:*LocalObjectReference readOnly?:b"
    ),
    "FlexVolumeSource": "driver:s fsType?:s secretRef?:*LocalObjectReference readOnly?:b options?:{s}",
    "CinderVolumeSource": "volumeID:s fsType?:s readOnly?:b secretRef?:*LocalObjectReference",
    "CephFSVolumeSource": "monitors:[s] path?:s user?:s secretFile?:s secretRef?:*LocalObjectReference readOnly?:b",
    "FlockerVolumeSource": "datasetName?:s datasetUUID?:s",
    "DownwardAPIVolumeSource": "items?:[DownwardAPIVolumeFile] defaultMode?:*i",
    "FCVolumeSource": "targetWWNs?:[s] lun?:*i fsType?:s readOnly?:b wwids?:[s]",
    "AzureFileVolumeSource": "secretName:s shareName:s readOnly?:b",
    "ConfigMapVolumeSource": "...LocalObjectReference items?:[KeyToPath] defaultMode?:*i optional?:*b",
    "VsphereVirtualDiskVolumeSource": "volumePath:s fsType?:s storagePolicyName?:s storagePolicyID?:s",
    "QuobyteVolumeSource": "registry:s volume:s readOnly?:b user?:s group?:s tenant?:s",
    "AzureDiskVolumeSource": "diskName:s diskURI:s cachingMode?:*s fsType?:*s readOnly?:*b kind?:*s",
    "PhotonPersistentDiskVolumeSource": "pdID:s fsType?:s",
    "ProjectedVolumeSource": "sources:[VolumeProjection] defaultMode?:*i",
    "PortworxVolumeSource": "volumeID:s fsType?:s readOnly?:b",
    "ScaleIOVolumeSource": (
        "gateway:s system:s secretRef:*LocalObjectReference sslEnabled?:b protectionDomain?:s storagePool?:s "
        "storageMode?:s volumeName?:s fsType?:s readOnly?:b"
    ),
    "StorageOSVolumeSource": "volumeName?:s volumeNamespace?:s fsType?:s readOnly?:b secretRef?:*LocalObjectReference",
    "CSIVolumeSource": (
        "driver:s readOnly?:*b fsType?:*s volumeAttributes?:{s} nodePublishSecretRef?:*LocalObjectReference"
    ),
    "EphemeralVolumeSource": "volumeClaimTemplate?:*PersistentVolumeClaimTemplate",
    "ImageVolumeSource": "reference?:s pullPolicy?:s",
    "ConfigMapEnvSource": "...LocalObjectReference optional?:*b",
    "SecretEnvSource": "...LocalObjectReference optional?:*b",
    "EnvVarSource": (
        "fieldRef?:*ObjectFieldSelector resourceFieldRef?:*ResourceFieldSelector "
        "configMapKeyRef?:*ConfigMapKeySelector secretKeyRef?:*SecretKeySelector fileKeyRef?:*FileKeySelector"
    ),
    "ContainerRestartRuleOnExitCodes": "operator?:s values?:[i]",
    "ProbeHandler": "exec?:*ExecAction httpGet?:*HTTPGetAction tcpSocket?:*TCPSocketAction grpc?:*GRPCAction",
    "LifecycleHandler": "exec?:*ExecAction httpGet?:*HTTPGetAction tcpSocket?:*TCPSocketAction sleep?:*SleepAction",
    "Capabilities": "add?:[s] drop?:[s]",
    "NodeSelector": "nodeSelectorTerms:[NodeSelectorTerm]",
    "PreferredSchedulingTerm": "weight:i preference:NodeSelectorTerm",
    "PodAffinityTerm": (
        "labelSelector?:*LabelSelector namespaces?:[s] topologyKey:s namespaceSelector?:*LabelSelector "
        "matchLabelKeys?:[s] mismatchLabelKeys?:[s]"
    ),
    "WeightedPodAffinityTerm": "weight:i podAffinityTerm:PodAffinityTerm",
    "KeyToPath": "key:s path:s mode?:*i",
    "DownwardAPIVolumeFile": "path:s fieldRef?:*ObjectFieldSelector resourceFieldRef?:*ResourceFieldSelector mode?:*i",
    "VolumeProjection": (
        "secret?:*SecretProjection downwardAPI?:*DownwardAPIProjection configMap?:*ConfigMapProjection "
        "serviceAccountToken?:*ServiceAccountTokenProjection clusterTrustBundle?:*ClusterTrustBundleProjection "
        "podCertificate?:*PodCertificateProjection"
    ),
    "PersistentVolumeClaimTemplate": "metadata?:ObjectMeta spec:PersistentVolumeClaimSpec",
    "ObjectFieldSelector": "apiVersion?:s fieldPath:s",
    "ResourceFieldSelector": "containerName?:s resource:s divisor?:q",
    "ConfigMapKeySelector": "...LocalObjectReference key:s optional?:*b",
    "SecretKeySelector": "...LocalObjectReference key:s optional?:*b",
    "FileKeySelector": "volumeName:s path:s key:s optional?:*b",
    "ExecAction": "command?:[s]",
    "HTTPGetAction": "path?:s port:x host?:s scheme?:s httpHeaders?:[HTTPHeader]",
    "TCPSocketAction": "port:x host?:s",
    "GRPCAction": "port:i service:*s",
    "SleepAction": "seconds:i",
    "NodeSelectorTerm": "matchExpressions?:[NodeSelectorRequirement] matchFields?:[NodeSelectorRequirement]",
    "SecretProjection": "...LocalObjectReference items?:[KeyToPath] optional?:*b",
    "DownwardAPIProjection": "items?:[DownwardAPIVolumeFile]",
    "ConfigMapProjection": "...LocalObjectReference items?:[KeyToPath] optional?:*b",
    "ServiceAccountTokenProjection": "audience?:s expirationSeconds?:*i path:s",
    "ClusterTrustBundleProjection": "name?:*s signerName?:*s labelSelector?:*LabelSelector optional?:*b path:s",
    "PodCertificateProjection": (
        "signerName?:s keyType?:s maxExpirationSeconds?:*i credentialBundlePath?:s keyPath?:s certificateChainPath?:s"
    ),
    "PersistentVolumeClaimSpec": (
        "accessModes?:[s] selector?:*LabelSelector resources?:VolumeResourceRequirements volumeName?:s "
        "storageClassName?:*s volumeMode?:*s dataSource?:*TypedLocalObjectReference "
        "dataSourceRef?:*TypedObjectReference volumeAttributesClassName?:*s"
    ),
    "HTTPHeader": "name:s value:s",
    "NodeSelectorRequirement": "key:s operator:s values?:[s]",
    "VolumeResourceRequirements": "limits?:{q} requests?:{q}",
    "TypedLocalObjectReference": "apiGroup:*s kind:s name:s",
    "TypedObjectReference": "apiGroup:*s kind:s name:s namespace?:*s",
    "ObjectMeta": (
        "name?:s generateName?:s namespace?:s selfLink?:s uid?:s resourceVersion?:s generation?:i "
        "creationTimestamp?:t deletionTimestamp?:*t deletionGracePeriodSeconds?:*i labels?:{s} annotations?:{s} "
        "ownerReferences?:[x] finalizers?:[s] managedFields?:[x]"
    ),
    "LabelSelector": "matchLabels?:{s} matchExpressions?:[LabelSelectorRequirement]",
    "LabelSelectorRequirement": "key:s operator:s values?:[s]",
}
